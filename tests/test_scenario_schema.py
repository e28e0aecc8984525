"""Scenario files: what a valid one gives, and how a bad one is reported (file, line, field)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from mockserver.cli import main as mockopenai
from mockserver.config import MockConfig
from mockserver.scenario import faults as F
from mockserver.scenario import loader
from mockserver.scenario.engine import _Compiled
from mockserver.scenario.schema import FAULT_FIELDS, TOP_FIELDS, ResponseSpec, ScenarioError, parse_text
from mockserver.web_app import create_app

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

EXAMPLE = """\
description: First attempt is rate limited with Retry-After; the retry succeeds.
reproduces: "openai.RateLimitError: Error code: 429"
match: {endpoint: chat.completions, stream: true}
attempts:
  - fault: http_error
    status: 429
    retry_after_ms: 200
  - faults:
      - {fault: slow, ttft_ms: 50}
      - {fault: drop, after_events: 5}
then: ok
faults:
  - {fault: http_error, status: 429, probability: 0.02, window: {start_ms: 0, end_ms: 60000}}
response: {text: "Hello from the mock", ttft_ms: 120, inter_token_ms: 20, tokens: 20}
expect:
  gateway: {events: [token, usage, done], finish_reason: stop, provider_retry_count: 1}
"""


def problems(text: str, path: str = "scenarios/x.yaml") -> list[str]:
    with pytest.raises(ScenarioError) as err:
        parse_text(textwrap.dedent(text), path)
    assert str(err.value) == "\n".join(err.value.problems)
    return err.value.problems


def test_the_documented_example_parses_into_typed_specs():
    sc = parse_text(EXAMPLE, "scenarios/faults/chat-429.yaml")
    assert sc.name == "chat-429"
    assert sc.match.matches("chat.completions", True, "gpt-4o")
    assert not sc.match.matches("chat.completions", False, "gpt-4o")
    assert [f.name for f in sc.attempts[0].faults] == ["http_error"]
    assert sc.attempts[0].faults[0].params == {"status": 429, "retry_after_ms": 200}
    assert [f.name for f in sc.attempts[1].faults] == ["slow", "drop"]
    assert sc.then.faults == []
    compiled = _Compiled.of(sc)  # attempt 3 is past the list: `then`
    assert [f.name for f in compiled.for_attempt(2)[0]] == ["slow", "drop"] and compiled.for_attempt(3)[
        0
    ] == []
    brownout = sc.faults[0]
    assert brownout.probability == 0.02 and brownout.window.end_ms == 60000
    assert sc.response == ResponseSpec(text="Hello from the mock", tokens=20, ttft_ms=120, inter_token_ms=20)
    assert sc.expect["gateway"]["events"] == ["token", "usage", "done"]


def test_a_step_can_override_the_response():
    sc = parse_text("description: d\nresponse: {tokens: 5}\nattempts:\n  - response: {text: hi}\n", "a.yaml")
    assert sc.response.merged(sc.attempts[0].response) == ResponseSpec(text="hi", tokens=5)


def test_unknown_fault_names_the_line_and_suggests_the_nearest():
    (line,) = problems("""\
        description: A typo in a fault name.
        attempts:
          - ok
          - fault: dorp
            after_events: 2
        """)
    assert line.startswith("scenarios/x.yaml:4: attempts[1].fault: unknown fault 'dorp'")
    assert "(did you mean 'drop'?)" in line


def test_unknown_keys_are_errors_with_a_suggestion():
    found = problems("""\
        description: Unknown keys everywhere.
        atempts: []
        then: {fault: stall, after_events: 1, duraton_ms: 5}
        """)
    assert found[0] == (
        "scenarios/x.yaml:2: atempts: unknown field for a scenario; expected one of "
        + ", ".join(TOP_FIELDS)
        + " (did you mean 'attempts'?)"
    )
    assert any(
        p.startswith("scenarios/x.yaml:3: then.duraton_ms: unknown field for fault 'stall'")
        and "did you mean 'duration_ms'" in p
        for p in found
    )
    assert any("then.duration_ms: required by fault 'stall'" in p for p in found)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("attempts: []\n", "x.yaml:1: description: required"),
        (
            "description: d\nmatch: {endpoint: chat}\n",
            "x.yaml:2: match.endpoint: expected one of models, chat.completions",
        ),
        (
            "description: d\nthen: {fault: http_error, status: 700}\n",
            "x.yaml:2: then.status: expected an integer between 100 and 599, got 700",
        ),
        (
            "description: d\nthen: {fault: drop}\n",
            "x.yaml:2: then: fault 'drop' needs exactly one of after_events",
        ),
        (
            "description: d\nthen: {fault: slow, ttft_ms: fast}\n",
            "x.yaml:2: then.ttft_ms: expected a number, got the string 'fast'",
        ),
        (
            "description: d\nthen: {fault: hang, probability: 2}\n",
            "x.yaml:2: then.probability: expected a number between 0 and 1, got 2",
        ),
        (
            "description: d\nfaults:\n  - {fault: hang, window: {start_ms: 50, end_ms: 10}}\n",
            "x.yaml:3: faults[0].window: expected end_ms > start_ms",
        ),
        ("description: d\nthen: sometimes\n", "x.yaml:2: then: expected 'ok', a fault mapping"),
        (
            "description: d\nresponse: {tokens: 0}\n",
            "x.yaml:2: response.tokens: expected an integer between 1 and 100000, got 0",
        ),
        ("description: d\ndescription: e\n", "x.yaml:2: (yaml): duplicate key 'description'"),
        ("description: [unclosed\n", "x.yaml:2: (yaml):"),
        ("- just a list\n", "x.yaml:1: (file): expected a mapping"),
        (
            "description: d\nthen: {fault: slow, distribution: gaussian}\n",
            "x.yaml:2: then.distribution: expected one of fixed, uniform, normal, lognormal",
        ),
    ],
)
def test_each_problem_names_file_line_field_and_expectation(text, expected):
    found = problems(text, path="x.yaml")
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_in_a_file_is_reported_not_just_the_first():
    found = problems("""\
        description: d
        attempts:
          - {fault: hang, probability: -1}
          - {fault: reste, after_events: 0}
        then: {fault: rate_limit}
        """)
    assert [p.split(":")[1] for p in found] == ["3", "4", "5"]


def test_the_schema_and_the_fault_classes_agree():
    assert set(FAULT_FIELDS) == set(F.FAULTS)
    for name, fields in FAULT_FIELDS.items():
        cls_fields = set(F.FAULTS[name].__dataclass_fields__)
        assert set(fields) <= cls_fields, name


def test_the_catalogue_is_valid_and_covers_every_fault():
    scenarios, found = loader.load_all([str(SCENARIOS)])
    assert found == []
    catalogue = {n: s for n, s in scenarios.items() if Path(s.path).parent.name == "faults"}
    assert len(catalogue) >= 25
    used = {f.name for s in catalogue.values() for step in [*s.attempts, s.then] for f in step.faults} | {
        f.name for s in catalogue.values() for f in s.faults
    }
    assert used == set(FAULT_FIELDS)


def test_validate_cli_exit_codes_and_one_line_per_problem(tmp_path, capsys):
    good = tmp_path / "ok" / "fine.yaml"
    good.parent.mkdir()
    good.write_text("description: Fine.\nthen: ok\n")
    assert mockopenai(["validate", str(tmp_path / "ok")]) == 0
    assert "1 scenario(s) OK" in capsys.readouterr().out
    bad = tmp_path / "bad" / "nested" / "broken.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("description: Broken.\nthen: {fault: trunacte}\nextra: 1\n")
    assert mockopenai(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"{bad}:2: then.fault: unknown fault 'trunacte'; expected one of "
        + ", ".join(FAULT_FIELDS)
        + " (did you mean 'truncate'?)"
    )
    assert err[1].startswith(f"{bad}:3: extra: unknown field")
    assert err[2] == "2 problem(s); 1 valid scenario(s)"


def test_validate_reports_duplicate_names_and_missing_paths(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.yaml").write_text("description: Same name.\n")
    assert mockopenai(["validate", str(tmp_path), str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "scenario 'same' is already defined in" in err
    assert f"{tmp_path / 'nope'}:0: (path): no such file or folder" in err


def test_scenarios_cli_lists_names_and_descriptions(capsys):
    assert mockopenai(["scenarios", str(SCENARIOS / "faults")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("chat-stream-drop ")
        and line.endswith("The chat stream's connection closes after five events, without data [DONE].")
        for line in lines
    )


def test_server_start_up_refuses_a_bad_file_with_the_same_message(tmp_path):
    (tmp_path / "bad.yaml").write_text("description: Bad.\nthen: {fault: hnag}\n")
    with pytest.raises(ScenarioError) as err:
        create_app(MockConfig(port=0, scenario_paths=[str(tmp_path)]))
    assert str(err.value).startswith(f"{tmp_path / 'bad.yaml'}:2: then.fault: unknown fault 'hnag'")
    assert "did you mean 'hang'" in str(err.value)


def test_server_start_up_refuses_an_unknown_default_scenario(tmp_path):
    (tmp_path / "one.yaml").write_text("description: One.\n")
    with pytest.raises(ScenarioError, match="--scenario two: no such scenario"):
        create_app(MockConfig(port=0, scenario_paths=[str(tmp_path)], default_scenario="two"))


def test_open_window_and_null_heartbeat_are_allowed():
    sc = parse_text(
        "description: d\nthen:\n  faults:\n    - {fault: heartbeat, interval_ms: null}\n"
        "    - {fault: hang, window: {start_ms: 10}}\n",
        "w.yaml",
    )
    heartbeat, hang = sc.then.faults
    assert heartbeat.params == {"interval_ms": None}
    assert hang.window.start_ms == 10 and math.isinf(hang.window.end_ms)

"""``harness repro``: the printout, the exit code, and the verdict it is built on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness.cli import main
from harness.repro import evaluate, run_scenario
from harness.repro.expect import MISSING
from harness.repro.scenario_file import ScenarioFileError

WRONG_EXPECT = """\
description: A 500 with no retries allowed, whose expect deliberately claims success.
match: {endpoint: chat.completions}
then: {fault: http_error, status: 500}
stack:
  drive: sdk
  input: {max_retries: 0}
expect:
  sdk: {outcome: ok}
  wire: {statuses: [500]}
"""


@pytest.fixture
def wrong_expect(tmp_path):
    path = tmp_path / "deliberately-wrong-expect.yaml"
    path.write_text(WRONG_EXPECT)
    return path


def test_repro_of_a_catalogue_scenario_exits_0_and_prints_wire_stack_and_verdict():
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "repro", "gateway-stream-never-starts"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "(1) on the wire" in out and "(2) what the stack did" in out and "(3) verdict" in out
    assert "ended=dropped" in out and "ended=complete" in out  # the journal: attempt 1 cut, 2 whole
    assert "event: done" in out  # what the gateway sent its client
    assert "✓ gateway.provider_retry_count: 1" in out
    assert "✗" not in out


def test_repro_exits_1_with_a_cross_on_an_expectation_that_does_not_hold(wrong_expect, capsys):
    assert main(["repro", str(wrong_expect)]) == 1
    out = capsys.readouterr().out
    assert "✗ sdk.outcome: expected 'ok', got 'error'" in out
    assert "✓ wire.statuses: [500]" in out
    assert "FAIL: 1/2 expectations hold" in out


def test_run_scenario_reports_the_failed_check(wrong_expect):
    result = run_scenario(str(wrong_expect))
    assert not result.ok
    assert [(c.path, c.ok) for c in result.checks] == [("sdk.outcome", False), ("wire.statuses", True)]
    assert result.stack.facts["sdk"]["exception"] == "InternalServerError"
    assert [e["status"] for e in result.journal] == [500]


def test_unknown_scenario_name_is_a_clear_error(capsys):
    assert main(["repro", "no-such-scenario-anywhere"]) == 2
    assert "no scenario named 'no-such-scenario-anywhere'" in capsys.readouterr().err


def test_bad_stack_block_names_the_file_and_field(tmp_path):
    path = tmp_path / "bad-drive.yaml"
    path.write_text("description: x\nstack: {drive: websocket}\nexpect: {wire: {requests: 0}}\n")
    with pytest.raises(
        ScenarioFileError, match=r"bad-drive.yaml:2: stack.drive: expected one of sdk, gateway"
    ):
        run_scenario(str(path))


def test_a_scenario_without_expectations_never_passes(tmp_path, capsys):
    path = tmp_path / "no-expect.yaml"
    path.write_text(
        textwrap.dedent("""\
        description: Nothing is expected, so nothing can pass.
        stack: {drive: registry, input: {service: openai_txt2img}}
        """)
    )
    assert main(["repro", str(path)]) == 1
    assert "✗ expect: the scenario states no expectation" in capsys.readouterr().out


# --- the evaluator (pure) ---------------------------------------------------------------------

FACTS = {
    "gateway": {
        "events": ["token", "usage", "done"],
        "heartbeats": 3,
        "error": None,
        "text": "Hello there",
        "telemetry": {"openai_call": {"provider_retry_count": 1}},
    },
    "wire": {"statuses": [429, 200]},
}


def verdicts(expect):
    return [(c.path, c.ok) for c in evaluate(expect, FACTS)]


def test_plain_values_must_equal_and_mappings_descend():
    assert verdicts(
        {
            "gateway": {
                "events": ["token", "usage", "done"],
                "error": None,
                "telemetry": {"openai_call": {"provider_retry_count": 1}},
            }
        }
    ) == [
        ("gateway.events", True),
        ("gateway.error", True),
        ("gateway.telemetry.openai_call.provider_retry_count", True),
    ]
    assert verdicts({"wire": {"statuses": [200]}}) == [("wire.statuses", False)]


@pytest.mark.parametrize(
    "expected, ok",
    [
        ({"min": 3}, True),
        ({"min": 4}, False),
        ({"max": 2}, False),
        ({"min": 1, "max": 5}, True),
        ({"one_of": [2, 3]}, True),
        ({"present": True}, True),
        ({"present": False}, False),
    ],
)
def test_operators_test_the_observed_value(expected, ok):
    assert verdicts({"gateway": {"heartbeats": expected}}) == [("gateway.heartbeats", ok)]


@pytest.mark.parametrize(
    "expected, ok",
    [
        ({"contains": "there"}, True),
        ({"contains": "bye"}, False),
        ({"matches": "^Hel+o"}, True),
        ({"excludes": "bye"}, True),
        ({"excludes": "Hello"}, False),
    ],
)
def test_text_operators(expected, ok):
    assert verdicts({"gateway": {"text": expected}}) == [("gateway.text", ok)]


def test_an_expectation_the_run_did_not_observe_fails():
    checks = evaluate({"gateway": {"finish_reasn": "stop"}, "connector": {"tier": "stream"}}, FACTS)
    assert [(c.path, c.ok, c.got) for c in checks] == [
        ("gateway.finish_reasn", False, MISSING),
        ("connector", False, MISSING),
    ]
    assert checks[0].line() == "✗ gateway.finish_reasn: expected 'stop', got <not observed>"
    assert checks[1].line() == "✗ connector: expected {'tier': 'stream'}, got <not observed>"


def test_a_misspelt_fact_names_the_observed_one_it_is_closest_to():
    (check,) = evaluate({"gateway": {"heartbeat": {"min": 1}}}, FACTS)
    assert not check.ok
    assert (
        check.line()
        == "✗ gateway.heartbeat: expected min 1, got <not observed> (did you mean gateway.heartbeats?)"
    )


def test_mixing_operators_and_fields_is_refused(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "description: x\nstack: {drive: registry, input: {service: s}}\n"
        "expect: {registry: {error: {contains: x, code: y}}}\n"
    )
    with pytest.raises(ScenarioFileError, match=r"mixed.yaml:3: expect.registry.error: mixes operators"):
        run_scenario(str(path))


def test_the_memory_growth_repro_catches_a_client_that_keeps_every_event(monkeypatch):
    from harness.connectors import StreamEventDebugger
    from harness.repro.drivers import stream as stream_runner

    class HoardingDebugger(StreamEventDebugger):
        def record(self, event):
            self.kept = [*getattr(self, "kept", []), event]
            super().record(event)

    monkeypatch.setattr(stream_runner, "StreamEventDebugger", HoardingDebugger)
    result = run_scenario("stream-memory-growth-long-stream")
    failed = [c for c in result.checks if not c.ok]
    assert [c.path for c in failed] == ["stream.sdk_objects_retained"], result.report_text()
    assert failed[0].got >= 1000


async def test_run_scenario_can_be_called_from_async_code():
    result = run_scenario("no-connector-for-service")
    assert result.ok, result.report_text()

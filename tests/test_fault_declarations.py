"""Each fault is declared once (its dataclass in faults.py); the schema's checks, the JSON Schema,
the registry and the faults table in scenarios/faults/README.md all come from that declaration."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from mockserver.cli import main as mockopenai
from mockserver.scenario import faults as F
from mockserver.scenario.fault_table import markdown
from mockserver.scenario.json_schema import scenario_schema
from mockserver.scenario.schema import FAULT_FIELDS, ScenarioError, parse_text

README = Path(__file__).resolve().parents[1] / "mockserver" / "catalogue" / "faults" / "README.md"


def test_the_readme_holds_the_table_the_declarations_give():
    assert markdown() in README.read_text(encoding="utf-8")


def test_mockopenai_faults_prints_that_table(capsys):
    assert mockopenai(["faults"]) == 0
    out = capsys.readouterr().out
    assert out == markdown()
    assert out.count("\n| `") == len(F.FAULTS)


@pytest.mark.parametrize("name", sorted(F.FAULTS))
def test_the_schema_checks_exactly_the_declared_fields(name):
    cls = F.FAULTS[name]
    declared = [f.name for f in fields(cls) if "check" in f.metadata]
    assert list(FAULT_FIELDS[name]) == declared
    props = scenario_schema()["$defs"]["faults"][name]["properties"]
    assert set(props) == {"fault", "probability", "window", *declared}
    for key in declared:  # the published schema is the checker's own
        assert props[key] == FAULT_FIELDS[name][key].json_schema
    assert scenario_schema()["$defs"]["faults"][name]["required"] == ["fault", *cls.required]


def test_a_declared_checker_is_what_rejects_a_bad_value():
    with pytest.raises(ScenarioError) as exc:
        parse_text("description: d\nthen: {fault: duplicate, count: 5000}\n", "s.yaml")
    assert str(exc.value) == "s.yaml:2: then.count: expected an integer between 1 and 1000, got 5000"
    with pytest.raises(ScenarioError) as exc:
        parse_text("description: d\nthen: {fault: drop, after_events: 1, after_ms: 5}\n", "s.yaml")
    assert "needs exactly one of after_events or after_ms" in str(exc.value)


def test_the_fault_code_names_no_endpoint_and_no_event_type():
    """A fault asks the Reply's vocabulary how its API speaks (issue: faults.py names no endpoint,
    model or event type); a name creeping back in would tie a fault to one API again."""
    from mockserver.endpoints import ENDPOINTS

    source = Path(F.__file__).read_text(encoding="utf-8")
    words = [*ENDPOINTS, "[DONE]", "chat", "Responses", "image_generation", ".completed", ".delta", "gpt-"]
    assert [w for w in words if w in source] == []


@pytest.mark.parametrize("name", sorted(F.FAULTS))
def test_every_fault_also_works_on_a_live_upstream(name):
    """serve --upstream gives each fault a streaming form (mockserver.live_faults); a new fault
    without one would be skipped there without a word."""
    from mockserver.live_faults import STAGES

    cls = F.FAULTS[name]
    assert cls.replaces_reply or cls in STAGES

"""The catalogue of reported failures: every file in scenarios/reported/ is one test.

Each scenario reproduces a symptom from the field reports and says in ``expect`` what the
reference stack must do about it; a new YAML file there is a new test, with no code.
"""

from __future__ import annotations

import pytest

from harness.repro import catalogue, run_scenario
from harness.repro.scenario_file import load

CATALOGUE = catalogue("reported")


def test_the_catalogue_covers_the_reported_symptoms():
    assert len(CATALOGUE) >= 12, [p.name for p in CATALOGUE]
    for path in CATALOGUE:
        scenario = load(str(path))
        assert scenario.reproduces, f"{path.name}: 'reproduces:' must quote the reported symptom"
        assert scenario.expect, f"{path.name}: 'expect:' must say what the reference stack does"


@pytest.mark.parametrize("path", CATALOGUE, ids=[p.stem for p in CATALOGUE])
def test_reference_stack_handles_reported_failure(path):
    result = run_scenario(str(path))
    assert result.checks, result.report_text()
    assert result.ok, result.report_text()

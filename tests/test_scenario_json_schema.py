"""The published JSON Schema of scenario files is derived from the one scenario schema: every
scenario the validator accepts, it accepts; what the validator refuses for a field, it refuses."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from mockserver.scenario.json_schema import PACKAGED, dumps, scenario_schema
from mockserver.scenario.loader import CATALOGUE, scenario_files
from mockserver.scenario.schema import FAULT_FIELDS, ScenarioError, parse_text

VALIDATOR = jsonschema.Draft202012Validator(scenario_schema())


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


def test_the_packaged_copy_is_the_derived_schema():
    assert json.loads(PACKAGED.read_text()) == json.loads(dumps()), (
        "regenerate it: mockopenai schema > mockserver/scenario/scenario.schema.json"
    )


def test_every_fault_of_the_schema_module_is_in_it():
    assert set(scenario_schema()["$defs"]["faults"]) == set(FAULT_FIELDS)


@pytest.mark.parametrize("path", scenario_files([str(CATALOGUE)])[0], ids=lambda p: p.stem)
def test_every_catalogue_scenario_validates(path):
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


BAD = {
    "unknown fault": "description: x\nattempts: [{fault: trunacte}]\n",
    "status out of range": "description: x\nattempts: [{fault: http_error, status: 700}]\n",
    "missing required field": "description: x\nattempts: [{fault: stall}]\n",
    "both of one-of": "description: x\nattempts: [{fault: drop, after_events: 1, after_ms: 5}]\n",
    "none of any-of": "description: x\nfaults: [{fault: rate_limit}]\n",
    "unknown top-level field": "description: x\nextra: 1\n",
    "no description": "match: {stream: true}\n",
    "two-line description": "description: |\n  one\n  two\n",
    "unknown endpoint": "description: x\nmatch: {endpoint: chat}\n",
    "bad distribution": "description: x\nfaults: [{fault: slow, distribution: gaussian}]\n",
    "probability above 1": "description: x\nfaults: [{fault: no_done, probability: 2}]\n",
    "unknown response field": "description: x\nresponse: {speed: 3}\n",
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_what_the_validator_refuses_the_json_schema_refuses(text):
    with pytest.raises(ScenarioError):
        parse_text(text, "bad.yaml")
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text)))


def test_mockopenai_schema_prints_it(capsys):
    from mockserver.cli import main

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_schema()

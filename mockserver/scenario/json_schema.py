"""The JSON Schema of scenario files, derived from :mod:`.schema` (never written twice).

Each checker of the schema module carries the JSON Schema of what it accepts; this module puts
them together with the fault table (``FAULT_FIELDS``, ``FAULT_REQUIRED``, ``FAULT_ONE_OF``,
``FAULT_ANY_OF``), the response fields and the top-level fields. ``mockopenai schema`` prints it;
a copy ships in the package for editors (``# yaml-language-server: $schema=...``).

The schema module stays the authority: it also checks what JSON Schema cannot say well (a step
that is the string ``ok``, a window whose end follows its start), and its messages carry the file
and line. The JSON Schema gives an editor completion and the same errors as you type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import checks, schema

SCHEMA_ID = "https://mockopenai-harness.invalid/scenario.schema.json"
PACKAGED = Path(__file__).resolve().parent / "scenario.schema.json"


def _of(check: Any) -> dict[str, Any]:
    return dict(check.json_schema)


def _window() -> dict[str, Any]:
    ms = _of(checks.MS)
    return {
        "type": "object",
        "description": "when the fault may fire, in ms since the session's first request to the scenario",
        "properties": {"start_ms": ms, "end_ms": ms},
        "additionalProperties": False,
    }


def _fault(name: str) -> dict[str, Any]:
    own = schema.FAULT_FIELDS[name]
    properties: dict[str, Any] = {"fault": {"const": name}}
    properties.update({key: _of(check) for key, check in own.items()})
    properties["probability"] = _of(checks.number(0, 1))
    properties["window"] = {"$ref": "#/$defs/window"}
    out: dict[str, Any] = {
        "type": "object",
        "title": name,
        "properties": properties,
        "required": ["fault", *schema.FAULT_REQUIRED.get(name, ())],
        "additionalProperties": False,
    }
    one_of = schema.FAULT_ONE_OF.get(name)
    if one_of:
        out["oneOf"] = [{"required": [key]} for key in one_of]
    any_of = schema.FAULT_ANY_OF.get(name)
    if any_of:
        out["anyOf"] = [{"required": [key]} for key in any_of]
    return out


def _response() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: _of(check) for key, check in schema.RESPONSE_FIELDS.items()},
        "additionalProperties": False,
    }


def scenario_schema() -> dict[str, Any]:
    """The whole JSON Schema (draft 2020-12) of one scenario file."""
    faults = {name: _fault(name) for name in schema.FAULT_FIELDS}
    any_fault = {"oneOf": [{"$ref": f"#/$defs/faults/{name}"} for name in faults]}
    step = {
        "anyOf": [
            {"const": "ok"},
            {"$ref": "#/$defs/fault"},
            {
                "type": "object",
                "properties": {
                    "faults": {"type": "array", "items": {"$ref": "#/$defs/fault"}},
                    "response": {"$ref": "#/$defs/response"},
                },
                "additionalProperties": False,
            },
        ]
    }
    endpoint = _of(checks.choice(schema.ENDPOINTS))
    text = _of(checks.string())
    properties: dict[str, Any] = {
        "description": {**_of(checks.string(one_line=True)), "description": "one line: what it does"},
        "reproduces": {**text, "description": "the reported symptom, quoted"},
        "match": {
            "type": "object",
            "properties": {
                "endpoint": {"anyOf": [endpoint, {"type": "array", "items": endpoint, "minItems": 1}]},
                "stream": {"type": "boolean"},
                "model": {"anyOf": [text, {"type": "array", "items": text, "minItems": 1}]},
            },
            "additionalProperties": False,
        },
        "attempts": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        "then": {"$ref": "#/$defs/step"},
        "faults": {"type": "array", "items": {"$ref": "#/$defs/fault"}},
        "response": {"$ref": "#/$defs/response"},
        "expect": {
            "type": "object",
            "description": "what the reference stack is expected to do: one section per part of it",
            "properties": {section: {"type": "object"} for section in schema.EXPECT_SECTIONS},
            "additionalProperties": False,
        },
        "stack": {
            "type": "object",
            "description": "which part of the reference stack a repro drives, with what",
            "properties": {
                "drive": _of(checks.choice(schema.DRIVES)),
                "input": {"type": "object"},
                "settings": {"type": "object", "patternProperties": {"_ms$": _of(checks.MS)}},
            },
            "additionalProperties": False,
        },
    }
    assert set(properties) == set(schema.TOP_FIELDS), "the top-level fields of the schema module"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "mockopenai scenario",
        "description": "One YAML file, one scenario; the file's stem is its name.",
        "type": "object",
        "properties": properties,
        "required": ["description"],
        "additionalProperties": False,
        "$defs": {
            "faults": faults,
            "fault": any_fault,
            "step": step,
            "response": _response(),
            "window": _window(),
        },
    }


def dumps() -> str:
    return json.dumps(scenario_schema(), indent=2) + "\n"

"""Field checkers of the scenario format: each one validates one value, returns it (normalised),
or raises :class:`Invalid` saying what was expected, and carries the JSON Schema of what it
accepts (``.json_schema``), so the validator and the published schema are one definition.

A leaf module: the schema (:mod:`.schema`) and the faults (:mod:`.faults`, whose parameters
declare their checkers) both import it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from typing import Any


class Invalid(Exception):
    """A value that does not fit; the message says what was expected."""


def with_schema(json_schema: dict[str, Any]) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Attach to a checker the JSON Schema of what it accepts (:mod:`.json_schema` reads it), so
    the validator and the published schema are one definition."""

    def attach(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
        check.json_schema = json_schema  # type: ignore[attr-defined]
        return check

    return attach


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def number(lo: float = 0.0, hi: float = math.inf, integer: bool = False) -> Callable[[Any], Any]:
    kind = "an integer" if integer else "a number"
    bounds: dict[str, Any] = {"minimum": lo}
    if not math.isinf(hi):
        bounds["maximum"] = hi

    @with_schema({"type": "integer" if integer else "number", **bounds})
    def check(value: Any) -> Any:
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or math.isnan(value):
            raise Invalid(f"expected {kind}, got {describe(value)}")
        if value < lo or value > hi:
            bounds = f">= {_shown(lo)}" if math.isinf(hi) else f"between {_shown(lo)} and {_shown(hi)}"
            raise Invalid(f"expected {kind} {bounds}, got {value}")
        return value

    return check


ONE_LINE_PATTERN = r"^\s*[^\n]*\S\s*$"  # what strip() leaves holds no newline


def string(one_line: bool = False) -> Callable[[Any], Any]:
    @with_schema({"type": "string", "minLength": 1, **({"pattern": ONE_LINE_PATTERN} if one_line else {})})
    def check(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"expected a non-empty string, got {describe(value)}")
        if one_line and "\n" in value.strip():
            raise Invalid("expected one line of text")
        return value

    return check


@with_schema({"type": "boolean"})
def boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {describe(value)}")
    return value


def choice(options: tuple[str, ...]) -> Callable[[Any], Any]:
    @with_schema({"enum": list(options)})
    def check(value: Any) -> Any:
        if value not in options:
            raise Invalid(
                f"expected one of {', '.join(options)}; got {describe(value)}" + did_you_mean(value, options)
            )
        return value

    return check


def one_or_many(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    one = item.json_schema  # type: ignore[attr-defined]

    @with_schema({"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]})
    def check(value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise Invalid("expected at least one value")
        return tuple(item(v) for v in values)

    return check


@with_schema({"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1})
def string_list(value: Any) -> Any:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Invalid(f"expected a list of strings, got {describe(value)}")
    return list(value)


HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"  # an HTTP token (RFC 9110)
HEADER_VALUE = r"^[^\r\n\x00]*$"  # what one header line can carry: no line break, no NUL


@with_schema(
    {
        "type": "object",
        "propertyNames": {"pattern": HEADER_NAME},
        "additionalProperties": {"anyOf": [{"type": "string", "pattern": HEADER_VALUE}, {"type": "number"}]},
    }
)
def headers(value: Any) -> Any:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise Invalid(f"expected a mapping of header names to values, got {describe(value)}")
    for name, v in value.items():
        if not re.match(HEADER_NAME, name):
            raise Invalid(f"{name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise Invalid(f"header '{name}' needs a string or number value")
        if isinstance(v, str) and not re.match(HEADER_VALUE, v):
            raise Invalid(f"header '{name}': a value cannot hold a line break or a NUL byte")
    return {k: str(v) for k, v in value.items()}


@with_schema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]})
def optional_interval(value: Any) -> Any:
    return None if value is None else number()(value)


MS = number()
COUNT = number(integer=True)


def fail(message: str) -> Any:
    raise Invalid(message)


def did_you_mean(value: Any, options: Any) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""

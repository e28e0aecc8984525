"""Request-field checks shared by the API fakes; each failure is OpenAI's 400 naming ``param``."""

from __future__ import annotations

from typing import Any

from .. import errors

_MISSING = object()

_EXPECT = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "an object",
}


def _is(value: Any, typ: type) -> bool:
    if typ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


def required(body: dict[str, Any], name: str, typ: type, param: str | None = None) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        raise errors.missing_param(param or name)
    if not _is(value, typ):
        raise errors.invalid_type(param or name, _EXPECT[typ], value)
    return value


def optional(
    body: dict[str, Any], name: str, typ: type, default: Any = None, param: str | None = None
) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return default
    if not _is(value, typ):
        raise errors.invalid_type(param or name, _EXPECT[typ], value)
    return value


def number_in(
    body: dict[str, Any], name: str, lo: float, hi: float, default: Any = None, integer: bool = False
) -> Any:
    value = optional(body, name, int if integer else float, default)
    if value is not None and value is not default and not (lo <= value <= hi):
        raise errors.invalid_value(
            name, f"Invalid '{name}': expected a value between {lo:g} and {hi:g}, but got {value} instead."
        )
    return value


def one_of(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: Any = None) -> Any:
    value = optional(body, name, str, default)
    if value is not None and value not in allowed:
        quoted = ", ".join(f"'{a}'" for a in allowed)
        raise errors.invalid_value(name, f"Invalid value: '{value}'. Supported values are: {quoted}.")
    return value


TOOL_CHOICE_MODES = ("none", "auto", "required")


def tool_choice_mode(choice: Any, has_tools: bool, required_without_tools: str) -> str | None:
    """``tool_choice`` as a string, checked as Chat and Responses both check it (each words the
    ``required``-without-tools refusal its own way); None for an object, whose shape each API
    checks itself. Anything else is OpenAI's type error."""
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise errors.invalid_value(
                "tool_choice",
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            )
        if choice == "required" and not has_tools:
            raise errors.invalid_value("tool_choice", required_without_tools)
        return choice
    if not isinstance(choice, dict):
        raise errors.invalid_type("tool_choice", "one of a string or object", choice)
    return None


ALLOWED_TOOLS_MODES = ("auto", "required")


def allowed_tools(allowed: Any, param: str) -> tuple[str, list[dict[str, Any]]]:
    """An ``allowed_tools`` tool choice's ``{mode, tools}`` (at ``param``), checked: the mode
    ``auto`` or ``required``, the tools a list of tool objects."""
    if not isinstance(allowed, dict):
        raise errors.invalid_type(param, "an object", allowed)
    mode = allowed.get("mode")
    if mode not in ALLOWED_TOOLS_MODES:
        raise errors.invalid_value(
            f"{param}.mode", f"Invalid value: '{mode}'. Supported values are: 'auto' and 'required'."
        )
    listed = allowed.get("tools")
    if not isinstance(listed, list) or not all(isinstance(t, dict) for t in listed):
        raise errors.invalid_type(f"{param}.tools", "an array of tool objects", listed)
    return mode, listed

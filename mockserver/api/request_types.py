"""Every field of a request checked against the one typed description of the endpoint's
parameters: the request TypedDicts the ``openai`` package ships (the SDK's own source of truth
for what each endpoint takes), validated strictly by pydantic, the real API's 400s as answers.

The endpoint modules keep their own checks first (they give OpenAI's exact messages for the
fields a client gets wrong most); this catches the rest: a wrong type or enum value anywhere in
the body (``logprobs: "x"``, a message with ``role: "wizard"``), and a field the endpoint does
not take ("Unrecognized request argument supplied: foo"). Validation is pydantic-core's: a few
microseconds per request.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .. import errors

# pydantic's error types -> how the real API names what it expected
EXPECTED = {
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "an object",
    "typed_dict_type": "an object",
    "model_type": "an object",
    "none_required": "null",
}


@functools.cache
def _fields(params_type: type) -> dict[str, TypeAdapter[Any]]:
    """One strict validator per top-level field of the TypedDict."""
    hints = typing.get_type_hints(params_type)  # Required[...] / NotRequired[...] stripped
    return {name: TypeAdapter(hint) for name, hint in hints.items()}


def param_path(loc: tuple[Any, ...]) -> str:
    """``("messages", 0, "role")`` -> ``messages[0].role``, as the real API names a param. Union
    branches pydantic tags onto the path (class names) are left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part[:1].isupper() and "[" not in part and "(" not in part:
            out += f".{part}" if out else part
    return out


def _at(body: Any, loc: tuple[Any, ...]) -> Any:
    value = body
    for part in loc:
        if (
            isinstance(value, dict)
            and part in value
            or isinstance(value, list)
            and isinstance(part, int)
            and part < len(value)
        ):
            value = value[part]
    return value


def check(body: dict[str, Any], params_type: type, own: frozenset[str] = frozenset()) -> None:
    """Raise OpenAI's 400 for the first field of ``body`` that ``params_type`` does not allow.
    ``own``: fields the endpoint module checks itself, in detail (``messages``, ``input``)."""
    fields = _fields(params_type)
    for name in body:
        if name not in fields:
            raise errors.unknown_param(name)
    for name, value in body.items():
        if name in own:
            continue
        try:
            fields[name].validate_python(value, strict=True)
        except ValidationError as exc:
            problem = _first_real(exc)
            if problem is not None:
                raise _api_error(name, value, problem) from None


def _first_real(exc: ValidationError) -> dict[str, Any] | None:
    """The error worth reporting, or None when the value fits but for keys the types mark
    required that the real API fills in itself (an ``input_image`` without ``detail``: the spec
    says required, the API defaults it to ``auto``): a branch that failed only on missing keys
    while the others failed on their discriminator (``type``, ``role``) is the branch that fits."""
    errs = exc.errors()
    real = [e for e in errs if e["type"] != "missing"]
    if not real:
        return None
    if len(real) < len(errs) and all(
        e["type"] == "literal_error" and e["loc"] and e["loc"][-1] in ("type", "role") for e in real
    ):
        return None
    return max(real, key=lambda e: len(e["loc"]))


def _api_error(name: str, value: Any, first: dict[str, Any]) -> errors.ApiError:
    loc = (name, *first["loc"])
    param = param_path(loc)
    got = _at({name: value}, tuple(p for p in loc if isinstance(p, int | str)))
    kind = first["type"]
    if kind == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        return errors.invalid_value(param, f"Invalid value: {got!r}. Supported values are: {expected}.")
    if kind in EXPECTED:
        return errors.invalid_type(param, EXPECTED[kind], got)
    return errors.invalid_value(param, f"Invalid value for '{param}': {first['msg']}.")

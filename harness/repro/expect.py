"""The expectation evaluator: a scenario's ``expect:`` block against what was observed. Pure.

``expect`` and the observed facts are nested mappings with the same shape, one section per part
of the stack (``wire``, ``gateway``, ``connector``, ``health``, ``stream``, ``sdk``, ...)::

    expect:
      gateway: {events: [token, usage, done], finish_reason: stop, provider_retry_count: 1}
      wire: {statuses: [429, 200]}

A plain value must equal what was observed. A mapping whose keys are all operators tests it
instead: ``{min: 2}``, ``{max: 50}``, ``{contains: "404"}``, ``{excludes: token}``,
``{one_of: [a, b]}``, ``{matches: "^resp_"}``, ``{present: true}``. Any other mapping descends
one level (``gateway: {error: {code: RATE_LIMIT}}`` checks ``gateway.error.code``). A key the
run did not observe is a failed check, so a misspelt expectation can never pass silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "<not observed>"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Check:
    path: str  # "gateway.error.code"
    expected: Any  # the expectation as written
    got: Any  # what was observed (MISSING when nothing was)
    ok: bool
    nearest: str | None = None  # for a fact not observed: the observed one its name is closest to

    def line(self) -> str:
        if self.ok:
            return f"✓ {self.path}: {show(self.got)}"
        hint = f" (did you mean {self.nearest}?)" if self.nearest else ""
        return f"✗ {self.path}: expected {show(self.expected)}, got {show(self.got)}{hint}"


def show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 160 else repr(value[:157] + "...")
    if isinstance(value, Mapping) and set(value) and set(value) <= set(OPERATORS):
        return ", ".join(f"{op} {show(arg)}" for op, arg in value.items())
    return repr(value)


def _contains(got: Any, arg: Any) -> bool:
    if isinstance(got, str):
        return str(arg) in got
    if isinstance(got, (list, tuple, set, dict)):
        return arg in got
    return False


def _number(got: Any) -> bool:
    return isinstance(got, (int, float)) and not isinstance(got, bool)


def _present(got: Any, arg: Any) -> bool:
    there = got is not MISSING and got is not None and got != "" and got != []
    return there == bool(arg)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "min": lambda got, arg: _number(got) and got >= arg,
    "max": lambda got, arg: _number(got) and got <= arg,
    "contains": _contains,
    "excludes": lambda got, arg: got is not MISSING and not _contains(got, arg),
    "one_of": lambda got, arg: got in arg,
    "matches": lambda got, arg: isinstance(got, str) and re.search(arg, got) is not None,
    "present": _present,
}


def is_operator(expected: Any) -> bool:
    return isinstance(expected, Mapping) and bool(expected) and set(expected) <= set(OPERATORS)


def _equal(got: Any, expected: Any) -> bool:
    if _number(got) and _number(expected):
        return float(got) == float(expected)
    if isinstance(got, tuple):
        got = list(got)
    return got == expected


def evaluate(expect: Mapping[str, Any], facts: Mapping[str, Any], prefix: str = "") -> list[Check]:
    """One :class:`Check` per leaf of ``expect``, in the order the file wrote them."""
    checks: list[Check] = []
    for key, expected in expect.items():
        path = f"{prefix}{key}"
        got = facts.get(key, MISSING) if isinstance(facts, Mapping) else MISSING
        nearest = None
        if got is MISSING and isinstance(facts, Mapping):  # a misspelt fact: say which was meant
            close = difflib.get_close_matches(str(key), [str(k) for k in facts], n=1, cutoff=0.7)
            nearest = f"{prefix}{close[0]}" if close else None
        if is_operator(expected):
            ok = got is not MISSING or "present" in expected
            ok = ok and all(OPERATORS[op](got, arg) for op, arg in expected.items())
            checks.append(Check(path, expected, got, ok, nearest))
        elif isinstance(expected, Mapping):
            if isinstance(got, Mapping):
                checks.extend(evaluate(expected, got, path + "."))
            else:
                checks.append(Check(path, expected, got, False, nearest))
        else:
            checks.append(Check(path, expected, got, got is not MISSING and _equal(got, expected), nearest))
    return checks

"""The one scenario schema: parse a scenario file into typed specs, or say exactly what is wrong.

A scenario file is YAML; one file is one scenario and its stem is the scenario's name::

    description: First attempt is rate limited with Retry-After; the retry succeeds.
    reproduces: "openai.RateLimitError: Error code: 429"
    match: {endpoint: chat.completions, stream: true}
    attempts:
      - {fault: http_error, status: 429, retry_after_ms: 200}
      - faults: [{fault: slow, ttft_ms: 50}, {fault: drop, after_events: 5}]
    then: ok
    faults: [{fault: http_error, status: 429, probability: 0.02, window: {start_ms: 0, end_ms: 60000}}]
    response: {text: "Hello from the mock", ttft_ms: 120, inter_token_ms: 20, tokens: 20}
    expect: {gateway: {finish_reason: stop}}

Every problem is reported as ``FILE:LINE: FIELD: what was expected`` (one line each); unknown
keys are errors and an unknown fault name suggests the nearest known one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..endpoints import ENDPOINTS
from . import replay_spec
from .checks import (
    MS,
    Invalid,
    boolean,
    choice,
    describe,
    did_you_mean,
    fail,
    number,
    one_or_many,
    string,
    with_schema,
)
from .faults import FAULTS
from .specs import FaultSpec, Match, ResponseSpec, Scenario, StepSpec, Window


class ScenarioError(Exception):
    """One or more problems in scenario files; ``str()`` is one ``FILE:LINE: FIELD: ...`` per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


# --- YAML with line numbers ------------------------------------------------------------------


class LineDict(dict):
    """A mapping that remembers where it and each of its keys were written."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML has it (~5x faster on a 300 KB file: 0.22 s against 1.06 s,
# measured), with the same constructors, so line numbers come out the same
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out.key_lines:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first on line {out.key_lines[key]})", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# Every fault and its own fields, from the faults' own declarations (faults.py). Every fault
# also takes `probability` and `window`.
FAULT_FIELDS: dict[str, dict[str, Callable[[Any], Any]]] = {
    name: cls.params() for name, cls in FAULTS.items()
}
# Fields a fault cannot do without, and groups of which exactly one / at least one is needed.
FAULT_REQUIRED = {name: cls.required for name, cls in FAULTS.items() if cls.required}
FAULT_ONE_OF = {name: cls.one_of for name, cls in FAULTS.items() if cls.one_of}
FAULT_ANY_OF = {name: cls.any_of for name, cls in FAULTS.items() if cls.any_of}


@with_schema({"type": "string"})
def _text(value: Any) -> Any:
    return value if isinstance(value, str) else fail(f"expected a string, got {describe(value)}")


RESPONSE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "tokens": number(1, 100_000, integer=True),  # a billion blocked the event loop for good
    "ttft_ms": MS,
    "inter_token_ms": MS,
    "replay": replay_spec.check,  # parsed by replay_spec.parse (frames, side files, their lines)
}
# The repro blocks. ``stack.drive`` names the part of the reference stack ``harness repro`` runs;
# ``expect`` holds one section of facts per part (and ``wire``, what the mock saw), whose leaves
# are values or one operator mapping such as ``{min: 2}``.
DRIVES = ("sdk", "gateway", "txt2img", "img2img", "registry", "health", "stream", "realtime")
STACK_FIELDS = ("drive", "input", "settings")
EXPECT_SECTIONS = ("wire", "sdk", "gateway", "connector", "registry", "health", "stream", "realtime", "load")


@with_schema({"type": "array", "minItems": 1})
def _options(value: Any) -> Any:
    return (
        value
        if isinstance(value, list) and value
        else fail(f"expected a list of values, got {describe(value)}")
    )


@with_schema({"type": "string", "format": "regex"})
def _regex(value: Any) -> Any:
    if not isinstance(value, str):
        fail(f"expected a regular expression, got {describe(value)}")
    try:
        re.compile(value)
    except re.error as exc:
        fail(f"not a regular expression: {exc}")
    return value


@with_schema({"type": "number"})
def _bound(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"expected a number, got {describe(value)}")
    return value


@with_schema({})
def _anything(value: Any) -> Any:
    return value


EXPECT_OPERATORS: dict[str, Callable[[Any], Any]] = {
    "min": _bound,
    "max": _bound,
    "contains": _anything,
    "excludes": _anything,
    "one_of": _options,
    "matches": _regex,
    "present": boolean,
}

TOP_FIELDS = (
    "description",
    "reproduces",
    "match",
    "attempts",
    "then",
    "faults",
    "response",
    "expect",
    "stack",
)


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    """Walks one file's YAML, collecting every problem instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []
        self.lines: list[int] = []

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {where}: {message}")
        self.lines.append(line)

    def sorted_problems(self) -> list[str]:
        """Problems top-down through the file."""
        order = sorted(range(len(self.problems)), key=lambda i: self.lines[i])
        return [self.problems[i] for i in order]

    def field(self, mapping: LineDict, key: str, where: str, check: Callable[[Any], Any]) -> Any:
        try:
            return check(mapping[key])
        except Invalid as bad:
            self.problem(mapping.key_lines.get(key, mapping.line), where, str(bad))
            return None

    def known_keys(self, mapping: LineDict, allowed: Any, where: str, what: str) -> None:
        for key in mapping:
            if key not in allowed:
                name = f"{where}.{key}" if where else str(key)
                self.problem(
                    mapping.key_lines.get(key, mapping.line),
                    name,
                    f"unknown field for {what}; expected one of {', '.join(allowed)}"
                    + did_you_mean(key, allowed),
                )

    def mapping(self, value: Any, line: int, where: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.problem(line, where, f"expected a mapping, got {describe(value)}")
        return None

    # -- pieces --

    def fault(self, value: Any, line: int, where: str) -> FaultSpec | None:
        m = self.mapping(value, line, where)
        if m is None:
            return None
        if "fault" not in m:
            self.problem(m.line, where, "expected a 'fault:' field naming one of " + ", ".join(FAULT_FIELDS))
            return None
        name = m["fault"]
        if name not in FAULT_FIELDS:
            self.problem(
                m.key_lines["fault"],
                f"{where}.fault",
                f"unknown fault {name!r}; expected one of {', '.join(FAULT_FIELDS)}"
                + did_you_mean(name, FAULT_FIELDS),
            )
            return None
        own = FAULT_FIELDS[name]
        allowed = ("fault", *own, "probability", "window")
        count = len(self.problems)
        self.known_keys(m, allowed, where, f"fault '{name}'")
        params = {k: self.field(m, k, f"{where}.{k}", own[k]) for k in own if k in m}
        for key in FAULT_REQUIRED.get(name, ()):
            if key not in m:
                self.problem(m.line, f"{where}.{key}", f"required by fault '{name}'")
        one_of = FAULT_ONE_OF.get(name)
        if one_of and sum(k in m for k in one_of) != 1:
            self.problem(m.line, where, f"fault '{name}' needs exactly one of {' or '.join(one_of)}")
        any_of = FAULT_ANY_OF.get(name)
        if any_of and not any(k in m for k in any_of):
            self.problem(m.line, where, f"fault '{name}' needs at least one of {' or '.join(any_of)}")
        probability = 1.0
        if "probability" in m:
            probability = self.field(m, "probability", f"{where}.probability", number(0, 1))
        window = self.window(m["window"], m.key_lines["window"], f"{where}.window") if "window" in m else None
        if len(self.problems) > count:
            return None
        return FaultSpec(
            name=name,
            params=params,
            probability=probability if probability is not None else 1.0,
            window=window,
            where=f"{self.path}:{m.line}",
        )

    def window(self, value: Any, line: int, where: str) -> Window | None:
        m = self.mapping(value, line, where)
        if m is None:
            return None
        self.known_keys(m, ("start_ms", "end_ms"), where, "window")
        start = self.field(m, "start_ms", f"{where}.start_ms", MS) if "start_ms" in m else 0.0
        end = self.field(m, "end_ms", f"{where}.end_ms", MS) if "end_ms" in m else math.inf
        if start is None or end is None:
            return None
        if end <= start:
            self.problem(m.line, where, f"expected end_ms > start_ms, got {start:g}..{end:g}")
            return None
        return Window(float(start), float(end))

    def fault_list(self, value: Any, line: int, where: str) -> list[FaultSpec]:
        if not isinstance(value, LineList):
            self.problem(line, where, f"expected a list of fault mappings, got {describe(value)}")
            return []
        out = [
            self.fault(v, ln, f"{where}[{i}]")
            for i, (v, ln) in enumerate(zip(value, value.item_lines, strict=True))
        ]
        return [f for f in out if f is not None]

    def response(self, value: Any, line: int, where: str) -> dict[str, Any]:
        m = self.mapping(value, line, where)
        if m is None:
            return {}
        self.known_keys(m, RESPONSE_FIELDS, where, "response")
        out = {k: self.field(m, k, f"{where}.{k}", RESPONSE_FIELDS[k]) for k in RESPONSE_FIELDS if k in m}
        if "replay" in m:
            out["replay"] = replay_spec.parse(self, m["replay"], m.key_lines["replay"], f"{where}.replay")
        return {k: v for k, v in out.items() if v is not None}

    def step(self, value: Any, line: int, where: str) -> StepSpec:
        if value == "ok":
            return StepSpec()
        if not isinstance(value, LineDict):
            self.problem(
                line,
                where,
                f"expected 'ok', a fault mapping or {{faults: [...], response: "
                f"{{...}}}}, got {describe(value)}",
            )
            return StepSpec()
        if "fault" in value:
            fault = self.fault(value, line, where)
            return StepSpec(faults=[fault] if fault else [])
        self.known_keys(value, ("faults", "response", "fault"), where, "a step")
        faults = (
            self.fault_list(value["faults"], value.key_lines["faults"], f"{where}.faults")
            if "faults" in value
            else []
        )
        response = (
            self.response(value["response"], value.key_lines["response"], f"{where}.response")
            if "response" in value
            else {}
        )
        return StepSpec(faults=faults, response=response)

    def match(self, value: Any, line: int) -> Match:
        m = self.mapping(value, line, "match")
        if m is None:
            return Match()
        self.known_keys(m, ("endpoint", "stream", "model"), "match", "match")
        endpoints = (
            self.field(m, "endpoint", "match.endpoint", one_or_many(choice(ENDPOINTS)))
            if "endpoint" in m
            else None
        )
        stream = self.field(m, "stream", "match.stream", boolean) if "stream" in m else None
        models = self.field(m, "model", "match.model", one_or_many(string())) if "model" in m else None
        return Match(endpoints, stream, models)

    def stack(self, value: Any, line: int) -> dict[str, Any]:
        m = self.mapping(value, line, "stack")
        if m is None:
            return {}
        self.known_keys(m, STACK_FIELDS, "stack", "stack")
        if "drive" in m:
            self.field(m, "drive", "stack.drive", choice(DRIVES))
        for key in ("input", "settings"):
            if key in m:
                self.mapping(m[key], m.key_lines[key], f"stack.{key}")
        settings = m.get("settings")
        if isinstance(settings, LineDict):  # durations are scenario milliseconds
            for key in settings:
                if str(key).endswith("_ms"):
                    self.field(settings, key, f"stack.settings.{key}", MS)
        return _plain(m)

    def expect(self, value: Any, line: int) -> dict[str, Any]:
        m = self.mapping(value, line, "expect")
        if m is None:
            return {}
        self.known_keys(m, EXPECT_SECTIONS, "expect", "expect (a part of the stack)")
        for key, section in m.items():
            if (
                key in EXPECT_SECTIONS
                and self.mapping(section, m.key_lines[key], f"expect.{key}") is not None
            ):
                self.expectations(section, f"expect.{key}")
        return _plain(m)

    def expectations(self, m: LineDict, where: str) -> None:
        """Every operator mapping below ``m``: only operators, each with a fitting argument."""
        for key, value in m.items():
            if not isinstance(value, LineDict):
                continue
            ops = [k for k in value if k in EXPECT_OPERATORS]
            if ops and len(ops) < len(value):
                others = ", ".join(str(k) for k in value if k not in EXPECT_OPERATORS)
                self.problem(
                    m.key_lines[key],
                    f"{where}.{key}",
                    f"mixes operators ({', '.join(ops)}) with other keys ({others}); "
                    f"operators are {', '.join(EXPECT_OPERATORS)}",
                )
            elif ops:
                for op in ops:
                    self.field(value, op, f"{where}.{key}.{op}", EXPECT_OPERATORS[op])
            else:
                self.expectations(value, f"{where}.{key}")

    # -- the whole file --

    def scenario(self, doc: Any, name: str) -> Scenario | None:
        if not isinstance(doc, LineDict):
            line = getattr(doc, "line", 1)
            self.problem(
                line, "(file)", f"expected a mapping with at least 'description', got {describe(doc)}"
            )
            return None
        self.known_keys(doc, TOP_FIELDS, "", "a scenario")
        lines = doc.key_lines
        description = None
        if "description" not in doc:
            self.problem(doc.line, "description", "required: one line saying what the scenario does")
        else:
            description = self.field(doc, "description", "description", string(one_line=True))
        reproduces = self.field(doc, "reproduces", "reproduces", string()) if "reproduces" in doc else None
        match = self.match(doc["match"], lines["match"]) if "match" in doc else Match()
        attempts: list[StepSpec] = []
        if "attempts" in doc:
            raw = doc["attempts"]
            if isinstance(raw, LineList) and len(raw) > MAX_ATTEMPTS:
                self.problem(
                    lines["attempts"], "attempts", f"{len(raw)} steps; a scenario has at most {MAX_ATTEMPTS}"
                )
            elif isinstance(raw, LineList):
                attempts = [
                    self.step(v, ln, f"attempts[{i}]")
                    for i, (v, ln) in enumerate(zip(raw, raw.item_lines, strict=True))
                ]
            else:
                self.problem(lines["attempts"], "attempts", f"expected a list of steps, got {describe(raw)}")
        then = self.step(doc["then"], lines["then"], "then") if "then" in doc else StepSpec()
        faults = self.fault_list(doc["faults"], lines["faults"], "faults") if "faults" in doc else []
        response = ResponseSpec().merged(
            self.response(doc["response"], lines["response"], "response") if "response" in doc else None
        )
        expect = self.expect(doc["expect"], lines["expect"]) if "expect" in doc else {}
        stack = self.stack(doc["stack"], lines["stack"]) if "stack" in doc else {}
        if self.problems or description is None:
            return None
        return Scenario(
            name=name,
            path=self.path,
            description=description.strip(),
            reproduces=reproduces,
            match=match,
            attempts=attempts,
            then=then,
            faults=faults,
            response=response,
            expect=expect,
            stack=stack,
        )


# What one scenario file may ask for. A scenario is a few lines of YAML; these bounds keep a
# hostile or broken file (a 50 MB file, nine levels of nine-fold aliases, 10,000-deep nesting,
# a billion tokens) from hanging `mockopenai validate` or the server, with a located error.
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000  # after aliases are expanded
MAX_ATTEMPTS = 1_000


def _check_shape(text: str, path: str) -> str | None:
    """One pass over the parser's events (iterative, nothing expanded): the nesting depth and
    the number of values the file holds once its aliases are expanded."""
    values = 0
    sizes: dict[str, int] = {}  # anchor -> how many values it stands for
    stack: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=_LineLoader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                values += sizes.get(event.anchor, 1)
            elif isinstance(event, yaml.ScalarEvent):
                values += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                values += 1
                stack.append((event.anchor, values))
                if len(stack) > MAX_DEPTH:
                    return f"{path}:{line}: (yaml): nested deeper than {MAX_DEPTH} levels"
            elif isinstance(event, yaml.CollectionEndEvent) and stack:
                anchor, start = stack.pop()
                if anchor:
                    sizes[anchor] = values - start + 1
            if values > MAX_VALUES:
                return (
                    f"{path}:{line}: (yaml): holds more than {MAX_VALUES} values once its aliases "
                    "are expanded; a scenario is a few lines"
                )
    except yaml.YAMLError:
        return None  # the loader below reports it with its line
    return None


def _plain(value: Any) -> Any:
    """LineDict/LineList back to plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_text(text: str, path: str, name: str | None = None) -> Scenario:
    """Parse one scenario's YAML text; raise :class:`ScenarioError` listing every problem."""
    name = name or Path(path).stem
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"{path}:1: (file): {len(text)} characters; a scenario file holds at most {MAX_FILE_BYTES} "
             "(put large payloads in a side file)"]
        )  # fmt: skip
    shape = _check_shape(text, path)
    if shape is not None:
        raise ScenarioError([shape])
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError([f"{path}:{line}: (yaml): {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}:1: (yaml): {exc}"]) from None
    parser = _Parser(path)
    scenario = parser.scenario(doc, name)
    if scenario is None:
        raise ScenarioError(parser.sorted_problems())
    return scenario


def parse_file(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{p}:1: (file): cannot read it: {exc}"]) from None
    return parse_text(text, str(p))

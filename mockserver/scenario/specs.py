"""The typed result of reading a scenario file: what :mod:`.schema` returns and the engine and
faults work from. A leaf module (the faults import it, the schema imports the faults)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from .replay_spec import ReplaySpec


@dataclass(slots=True)
class ResponseSpec:
    """What the fake says and how fast: a scenario's ``response:`` block."""

    text: str | None = None  # exact text; None: generated from the seed and the request
    tokens: int = 20  # length of generated text, in tokens
    ttft_ms: float = 0.0  # before the first content event
    inter_token_ms: float = 0.0  # between content events
    replay: ReplaySpec | None = None  # what an upstream really sent, sent again (replay_spec.py)

    def merged(self, override: dict[str, Any] | None) -> ResponseSpec:
        if not override:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(override)
        return ResponseSpec(**values)


@dataclass(slots=True, frozen=True)
class Window:
    start_ms: float = 0.0
    end_ms: float = math.inf  # relative to the scenario's first request in the session

    def contains(self, elapsed_ms: float) -> bool:
        return self.start_ms <= elapsed_ms < self.end_ms


@dataclass(slots=True)
class FaultSpec:
    name: str
    params: dict[str, Any]  # the fault's own fields (validated), without probability/window
    probability: float = 1.0
    window: Window | None = None
    where: str = ""  # FILE:LINE, for messages


@dataclass(slots=True)
class StepSpec:
    faults: list[FaultSpec] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=dict)  # overrides of the scenario's response


@dataclass(slots=True)
class Match:
    endpoints: tuple[str, ...] | None = None
    stream: bool | None = None
    models: tuple[str, ...] | None = None

    def matches(self, endpoint: str, stream: bool, model: str | None) -> bool:
        return (
            (self.endpoints is None or endpoint in self.endpoints)
            and (self.stream is None or stream == self.stream)
            and (self.models is None or model in self.models)
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.endpoints is not None:
            out["endpoint"] = self.endpoints[0] if len(self.endpoints) == 1 else list(self.endpoints)
        if self.stream is not None:
            out["stream"] = self.stream
        if self.models is not None:
            out["model"] = self.models[0] if len(self.models) == 1 else list(self.models)
        return out


@dataclass(slots=True)
class Scenario:
    name: str
    path: str
    description: str
    reproduces: str | None = None
    match: Match = field(default_factory=Match)
    attempts: list[StepSpec] = field(default_factory=list)
    then: StepSpec = field(default_factory=StepSpec)
    faults: list[FaultSpec] = field(default_factory=list)  # on every matching request
    response: ResponseSpec = field(default_factory=ResponseSpec)
    expect: dict[str, Any] = field(default_factory=dict)
    stack: dict[str, Any] = field(default_factory=dict)  # which part of the reference stack a repro drives

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "reproduces": self.reproduces,
            "match": self.match.to_dict(),
            "file": self.path,
        }

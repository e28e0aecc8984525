"""The scenario engine: which scenario, which step for this attempt, and its faults.

(Foundation version: no faults; the scenario engine issue fills this in.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..context import RequestContext
from ..reply import Reply
from .schema import ResponseSpec


@dataclass(slots=True)
class Step:
    attempt: int
    response: ResponseSpec
    faults: list[Any] = field(default_factory=list)


class ScenarioEngine:
    def __init__(self, scenarios: dict[str, Any] | None = None, default: str | None = None,
                 seed: int = 0) -> None:
        self.scenarios = dict(scenarios or {})
        self.default = default
        self.seed = seed

    def names(self) -> list[str]:
        return sorted(self.scenarios)

    def has(self, name: str) -> bool:
        return name in self.scenarios

    def step(self, ctx: RequestContext, endpoint: str, stream: bool, model: str | None) -> Step:
        return Step(attempt=1, response=ResponseSpec())

    def apply(self, step: Step, reply: Reply, ctx: RequestContext) -> Reply:
        return reply

    def reset(self, session: str | None = None) -> None:
        pass

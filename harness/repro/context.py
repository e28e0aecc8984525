"""What a driver gets: the scenario, the running mock, the time scale, and scaling helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.web_runner import MockServer, free_port

from .scenario_file import ScenarioFile


@dataclass(slots=True)
class StackRun:
    """What the driven part of the stack did: facts for ``expect`` and lines for the report."""

    facts: dict[str, Any] = field(default_factory=dict)  # section -> observed values
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RunContext:
    scenario: ScenarioFile
    mock: MockServer
    time_scale: float

    @property
    def input(self) -> dict[str, Any]:
        return self.scenario.input

    def real_s(self, scenario_ms: float) -> float:
        """Real seconds that a scenario duration takes under the repro's time scale."""
        return max(0.0, float(scenario_ms)) * self.time_scale / 1000.0

    def scenario_ms(self, real_s: float) -> float:
        """The scenario duration a real one stands for (the inverse of :meth:`real_s`)."""
        return round(real_s * 1000.0 / self.time_scale, 1)

    def settings(self, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
        """``stack.settings`` over ``defaults``; every ``*_ms`` value is scaled to real time.

        Durations in a scenario are scenario time, like the mock's faults, so a 10 s heartbeat
        against a 30 s stall keeps its proportions at any time scale.
        """
        merged = {**(defaults or {}), **self.scenario.settings}
        return {
            k: (
                max(1, round(v * self.time_scale))
                if k.endswith("_ms") and isinstance(v, (int, float)) and not isinstance(v, bool)
                else v
            )
            for k, v in merged.items()
        }

    def url(self, template: str | None) -> str:
        """A base URL from ``stack.input``: ``{mock}`` is the mock's root URL, ``{closed_port}`` a
        loopback port nothing listens on; nothing given means the mock's ``/v1``."""
        if not template:
            return self.mock.base_url
        return template.replace("{mock}", self.mock.url).replace("{closed_port}", str(free_port()))

"""``harness repro``: replay a reported failure against the reference stack and judge ``expect``.

>>> result = run_scenario("gateway-overloaded-429")
>>> result.ok, [c.line() for c in result.checks]

The pieces: :mod:`.scenario_file` finds and reads the scenario, :mod:`.runners` drive one part of
the stack each and collect facts, :mod:`.wire` reads the mock's journal, :mod:`.expect` judges the
facts (pure), :mod:`.report` prints it all.
"""

from __future__ import annotations

from .expect import Check, evaluate
from .run import DEFAULT_TIME_SCALE, ReproResult, run_scenario
from .scenario_file import ScenarioFileError, catalogue

__all__ = [
    "DEFAULT_TIME_SCALE",
    "Check",
    "ReproResult",
    "ScenarioFileError",
    "catalogue",
    "evaluate",
    "run_scenario",
]

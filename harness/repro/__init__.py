"""``harness repro``: replay a reported failure against the reference stack and judge ``expect``.

>>> result = run_scenario("gateway-overloaded-429")
>>> result.ok, [c.line() for c in result.checks]

The pieces: :mod:`.scenario_file` finds and reads the scenario, :mod:`.drivers` drive one part of
the stack each and collect facts, :mod:`.wire` reads the mock's journal, :mod:`.expect` judges the
facts (pure), :mod:`.report` prints it all.
"""

from __future__ import annotations

import importlib
from typing import Any

# Scenario time runs 50x faster than real time: a 30 s stall replays in 0.6 s.
DEFAULT_TIME_SCALE = 0.02

# The rest is imported on first use (PEP 562), so `harness repro --help` and `harness --help`
# read this constant without importing the mock, the gateway and the SDK.
_LAZY = {
    "Check": ".expect",
    "evaluate": ".expect",
    "ReproResult": ".run",
    "run_scenario": ".run",
    "ScenarioFileError": ".scenario_file",
    "catalogue": ".scenario_file",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_TIME_SCALE",
    "Check",
    "ReproResult",
    "ScenarioFileError",
    "catalogue",
    "evaluate",
    "run_scenario",
]

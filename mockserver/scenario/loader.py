"""Loading scenario files into an engine (foundation version: no files yet)."""

from __future__ import annotations

from .engine import ScenarioEngine


def engine_from_paths(paths: list[str], default: str | None = None, seed: int = 0) -> ScenarioEngine:
    return ScenarioEngine({}, default=default, seed=seed)

"""Finding and reading a scenario file for a repro: its name, ``reproduces``, ``stack`` and ``expect``.

The mock's scenario schema validates the file, ``stack`` and ``expect`` included (errors name
file, line and field); this module finds it and gives the repro its view of it::

    stack:
      drive: gateway            # which part of the reference stack the repro runs (schema.DRIVES)
      input: {message: "hi"}   # what it is given (driver-specific)
      settings: {openai_sse_heartbeat_ms: 10000}   # overrides; durations in scenario time
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.scenario.loader import CATALOGUE
from mockserver.scenario.schema import Scenario, ScenarioError, parse_file

SUFFIXES = (".yaml", ".yml")


class ScenarioFileError(ValueError):
    """A scenario that cannot be found or whose repro blocks are wrong; the message says which."""


@dataclass(slots=True)
class ScenarioFile:
    name: str
    path: Path
    description: str
    reproduces: str | None
    match: dict[str, Any]
    drive: str
    input: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)


def scenario_roots() -> list[Path]:
    """Where names are looked up: ``./scenarios``, then the built-in catalogue in the package."""
    roots = [Path.cwd() / "scenarios", CATALOGUE]
    seen: list[Path] = []
    for root in roots:
        if root.is_dir() and root.resolve() not in seen:
            seen.append(root.resolve())
    return seen


def catalogue(folder: str = "reported") -> list[Path]:
    """The files of one scenario folder (``reported``: the catalogue of reported failures)."""
    for root in scenario_roots():
        if (root / folder).is_dir():
            return sorted(p for p in (root / folder).iterdir() if p.suffix in SUFFIXES)
    return []


def locate(path_or_name: str) -> Path:
    candidate = Path(path_or_name)
    if candidate.suffix in SUFFIXES or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate.resolve()
        raise ScenarioFileError(f"{path_or_name}: no such scenario file")
    found = [
        p for root in scenario_roots() for suffix in SUFFIXES for p in root.rglob(f"{path_or_name}{suffix}")
    ]
    if not found:
        where = ", ".join(str(r) for r in scenario_roots()) or "no scenarios folder found"
        names = {p.stem for root in scenario_roots() for p in root.rglob("*") if p.suffix in SUFFIXES}
        close = difflib.get_close_matches(path_or_name, sorted(names), n=3)
        hint = f"; did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
        raise ScenarioFileError(f"no scenario named '{path_or_name}' (looked in {where}){hint}")
    return found[0].resolve()


def from_scenario(scenario: Scenario) -> ScenarioFile:
    """The repro's view of a scenario the mock's schema accepted (which checked ``stack`` and
    ``expect`` too, with file and line)."""
    stack = scenario.stack
    return ScenarioFile(
        name=scenario.name,
        path=Path(scenario.path),
        description=scenario.description,
        reproduces=scenario.reproduces,
        match=scenario.match.to_dict(),
        drive=stack.get("drive", "sdk"),
        input=dict(stack.get("input") or {}),
        settings=dict(stack.get("settings") or {}),
        expect=dict(scenario.expect),
    )


def load(path_or_name: str) -> ScenarioFile:
    """Find the file, validate it with the mock's scenario schema, and read its repro blocks."""
    path = locate(path_or_name)
    try:
        scenario = parse_file(path)
    except ScenarioError as exc:
        raise ScenarioFileError(str(exc)) from None
    return from_scenario(scenario)

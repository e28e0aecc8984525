"""Finding and loading scenario files: one file per scenario, named by its stem.

Names are unique within each path given; across paths, a later one overrides an earlier one by
name, so a project's own ``scenarios/`` can replace a scenario of the built-in catalogue
(:data:`CATALOGUE`, shipped inside the package) without renaming it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .engine import ScenarioEngine
from .schema import Scenario, ScenarioError, parse_file

SUFFIXES = (".yaml", ".yml")
CATALOGUE = Path(__file__).resolve().parents[1] / "catalogue"  # the built-in scenarios


def scenario_files(paths: list[str] | tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Files under ``paths`` (files, or folders searched recursively), and problems finding them."""
    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}:0: (path): no such file or folder")
    return files, problems


def load_all(paths: list[str] | tuple[str, ...]) -> tuple[dict[str, Scenario], list[str]]:
    """Every scenario found, by name, and every problem (one line each). Within one path a name
    is defined once; a later path's scenario replaces an earlier path's of the same name."""
    scenarios: dict[str, Scenario] = {}
    problems: list[str] = []
    seen: set[Path] = set()
    for raw in paths:
        files, missing = scenario_files([raw])
        problems.extend(missing)
        here: dict[str, Scenario] = {}
        for f in files:
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            try:
                sc = parse_file(f)
            except ScenarioError as err:
                problems.extend(err.problems)
                continue
            if sc.name in here:
                problems.append(
                    f"{f}:1: (name): scenario '{sc.name}' is already defined in "
                    f"{here[sc.name].path}; scenario names (file stems) must be unique"
                )
                continue
            here[sc.name] = sc
        scenarios.update(here)
    return scenarios, problems


def engine_from_paths(paths: list[str], default: str | None = None, seed: int = 0) -> ScenarioEngine:
    """The engine for a server; raises :class:`ScenarioError` naming every bad file."""
    scenarios, problems = load_all(paths)
    if default is not None and default not in scenarios and not problems:
        known = ", ".join(sorted(scenarios)) or "none loaded"
        close = difflib.get_close_matches(default, sorted(scenarios), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        problems.append(f"--scenario {default}: no such scenario{hint} (known: {known})")
    if problems:
        raise ScenarioError(problems)
    return ScenarioEngine(scenarios, default=default, seed=seed)

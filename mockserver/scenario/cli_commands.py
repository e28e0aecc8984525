"""``mockopenai validate PATH...`` and ``mockopenai scenarios [PATH]``."""

from __future__ import annotations

import sys
from pathlib import Path

from .loader import CATALOGUE, load_all


def validate(paths: list[str]) -> int:
    """Print one line per problem; exit 0 when every file is valid, 1 otherwise."""
    scenarios, problems = load_all(paths)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); {len(scenarios)} valid scenario(s)", file=sys.stderr)
        return 1
    if not scenarios:
        print("no scenario files found in " + " ".join(paths), file=sys.stderr)
        return 1
    print(f"{len(scenarios)} scenario(s) OK")
    return 0


def list_scenarios(path: str | None = None) -> int:
    """Print each scenario's name and one-line description (by default: the built-in catalogue,
    then ./scenarios when there is one)."""
    if path is None:
        paths = [str(CATALOGUE)] + (["scenarios"] if Path("scenarios").is_dir() else [])
    else:
        paths = [path]
    scenarios, problems = load_all(paths)
    for line in problems:
        print(line, file=sys.stderr)
    width = max((len(n) for n in scenarios), default=0)
    for name in sorted(scenarios):
        print(f"{name:<{width}}  {scenarios[name].description}")
    return 1 if problems else 0

"""Load targets: read ``loadtests/targets.yaml``, check measured figures, print the table.

A target names a measured figure by its dotted path in a run's ``measured`` block
(``ttft_ms.p95``, ``error_rate``, ``retry_rate``, ``users``) and a bound: ``below`` (strict) or
``at_least``. ``unit: "%"`` shows a rate as a percentage, ``ms`` as milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..text_table import text_table

BOUNDS = ("below", "at_least")
UNITS = ("", "ms", "%")


class TargetsError(ValueError):
    """A targets file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    metric: str
    bound: str  # "below" | "at_least"
    limit: float
    unit: str = ""

    def met_by(self, value: float) -> bool:
        return value < self.limit if self.bound == "below" else value >= self.limit

    def limit_text(self) -> str:
        sign = "<" if self.bound == "below" else ">="
        return f"{sign} {fmt(self.limit, self.unit)}"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: Target
    measured: float | None

    @property
    def ok(self) -> bool:
        return self.measured is not None and self.target.met_by(self.measured)


@dataclass(frozen=True, slots=True)
class TargetSet:
    description: str
    scenario: str | None
    targets: tuple[Target, ...]


def load_targets(path: str | Path) -> TargetSet:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TargetsError(f"{path}: cannot read targets: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list) or not doc["targets"]:
        raise TargetsError(f"{path}: expected a mapping with a non-empty 'targets' list")
    targets = tuple(_target(path, i, item) for i, item in enumerate(doc["targets"]))
    return TargetSet(
        description=str(doc.get("description", "")), scenario=doc.get("scenario"), targets=targets
    )


def _target(path: Path, i: int, item: Any) -> Target:
    where = f"{path}: targets[{i}]"
    if not isinstance(item, dict):
        raise TargetsError(f"{where}: expected a mapping, got {item!r}")
    for key in ("name", "metric"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise TargetsError(f"{where}.{key}: expected a non-empty string")
    bounds = [b for b in BOUNDS if b in item]
    if len(bounds) != 1:
        raise TargetsError(f"{where}: expected exactly one of {', '.join(BOUNDS)}")
    limit = item[bounds[0]]
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise TargetsError(f"{where}.{bounds[0]}: expected a number, got {limit!r}")
    unit = item.get("unit", "")
    if unit not in UNITS:
        raise TargetsError(f"{where}.unit: expected one of {UNITS}, got {unit!r}")
    return Target(item["name"], item["metric"], bounds[0], float(limit), unit)


def measured_value(measured: dict[str, Any], metric: str) -> float | None:
    value: Any = measured
    for part in metric.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"no measured figure named {metric!r}")
        value = value[part]
    return None if value is None else float(value)


def evaluate(targets: TargetSet, measured: dict[str, Any]) -> list[Verdict]:
    return [Verdict(t, measured_value(measured, t.metric)) for t in targets.targets]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:g}"


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = [("target", "limit", "measured", "verdict")]
    rows += [
        (v.target.name, v.target.limit_text(), fmt(v.measured, v.target.unit), "PASS" if v.ok else "FAIL")
        for v in verdicts
    ]
    return "\n".join(text_table(rows))

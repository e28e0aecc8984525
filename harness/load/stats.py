"""Percentiles and summaries of latency samples (pure; shared by load runs and benchmarks)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100), interpolated between closest ranks; None when empty."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(values: Iterable[float], quantiles: Iterable[float] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"count", "p50", "p95", "p99", "max"}`` of the samples, rounded to the microsecond."""
    data = sorted(values)
    out: dict[str, float | None] = {"count": len(data)}
    for q in quantiles:
        value = percentile(data, q)
        out[f"p{q:g}"] = None if value is None else round(value, 3)
    out["max"] = round(data[-1], 3) if data else None
    return out

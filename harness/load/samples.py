"""The samples a load run keeps: one record per stream, mergeable across Locust workers.

Each Locust process (the local runner, or every worker) adds a :class:`StreamOutcome` per stream;
workers ship what they gathered to the master with each stats report (:meth:`drain` /
:meth:`merge`), and the process that writes the results calls :meth:`results`: the raw TTFT
samples, per-second request / retry counts and the rates the targets are checked against.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from .stats import summary
from .stream_watch import StreamOutcome


class LoadSamples:
    def __init__(self, node: str = "local") -> None:
        self.node = node  # which Locust process measured the streams (a worker, or the local one)
        self._lock = threading.Lock()
        self.streams: list[dict[str, Any]] = []
        self.gaps_ms: list[float] = []

    def add(self, outcome: StreamOutcome, started_at: float) -> None:
        """Record one stream; ``started_at`` is the wall clock (epoch seconds) when it was sent."""
        record = {
            "t": round(started_at, 4),
            "ok": outcome.ok,
            "failure": outcome.failure,
            "status": outcome.status,
            "ttft_ms": _ms(outcome.ttft_ms),
            "total_ms": _ms(outcome.total_ms),
            "retries": outcome.retries,
            "tokens": outcome.tokens,
            "node": self.node,
        }
        with self._lock:
            self.streams.append(record)
            self.gaps_ms.extend(round(g, 3) for g in outcome.gaps_ms)

    def drain(self) -> dict[str, Any]:
        """Everything gathered since the last drain (a worker's share of a stats report)."""
        with self._lock:
            out = {"streams": self.streams, "gaps_ms": self.gaps_ms}
            self.streams, self.gaps_ms = [], []
        return out

    def merge(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.streams.extend(data.get("streams") or ())
            self.gaps_ms.extend(data.get("gaps_ms") or ())

    def results(self) -> dict[str, Any]:
        with self._lock:
            streams = sorted(self.streams, key=lambda s: s["t"])
            gaps = list(self.gaps_ms)
        return results_of(streams, gaps)


def results_of(streams: list[dict[str, Any]], gaps_ms: list[float]) -> dict[str, Any]:
    """The measured figures of a run, with its raw samples (for plots and other commands)."""
    n = len(streams)
    failures = [s for s in streams if not s["ok"]]
    with_retries = [s for s in streams if s["retries"] > 0]
    ttft = [s["ttft_ms"] for s in streams if s["ttft_ms"] is not None]
    start = streams[0]["t"] if streams else 0.0
    per_second: dict[int, dict[str, int]] = {}
    for s in streams:
        row = per_second.setdefault(
            int(s["t"] - start), {"requests": 0, "failures": 0, "with_retries": 0, "retries": 0}
        )
        row["requests"] += 1
        row["failures"] += 0 if s["ok"] else 1
        row["with_retries"] += 1 if s["retries"] > 0 else 0
        row["retries"] += s["retries"]
    return {
        "measured": {
            "requests": n,
            "failures": len(failures),
            "error_rate": len(failures) / n if n else None,
            "retry_rate": len(with_retries) / n if n else None,
            "ttft_ms": summary(ttft),
            "inter_token_ms": summary(gaps_ms),
            "total_ms": summary(s["total_ms"] for s in streams if s["ok"]),
        },
        "failure_reasons": dict(Counter((s["failure"] or "").split(":")[0] for s in failures)),
        "ttft_ms_samples": ttft,
        "per_second": [{"second": sec, **row} for sec, row in sorted(per_second.items())],
        "nodes": sorted({str(s.get("node", "")) for s in streams}),
        "started_at": start,
        "ended_at": max((s["t"] + (s["total_ms"] or 0.0) / 1000.0 for s in streams), default=start),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

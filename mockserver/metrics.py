"""The mock's metrics, counted from finished journal entries, and their Prometheus text
exposition (``GET /_mock/metrics``). The journal folds entries into running totals when they
leave it (its bound, or a reset), so the counters only ever go up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TTFT_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
PREFIX = "mockopenai"


@dataclass(slots=True)
class Metrics:
    requests: Counter = field(default_factory=Counter)  # (endpoint, status) -> n
    faults: Counter = field(default_factory=Counter)  # fault name -> times fired
    streams: Counter = field(default_factory=Counter)  # ended -> n
    ttft_buckets: list[int] = field(default_factory=lambda: [0] * len(TTFT_BUCKETS_MS))
    ttft_sum_ms: float = 0.0
    ttft_count: int = 0

    def add(self, e: Any) -> None:
        """Count a finished :class:`~mockserver.journal.JournalEntry`."""
        self.add_fields(e.endpoint, e.status, e.faults, e.stream, e.ended, e.first_content_ms)

    def add_dict(self, e: dict[str, Any]) -> None:
        """Count an entry as :meth:`JournalEntry.to_dict` gives it (the shared journal's rows)."""
        self.add_fields(
            e.get("endpoint"),
            e.get("status"),
            e.get("faults") or (),
            e.get("stream"),
            e.get("ended"),
            e.get("first_content_ms"),
        )

    def add_fields(
        self,
        endpoint: str | None,
        status: int | None,
        faults: Any,
        stream: bool | None,
        ended: str | None,
        first_content_ms: float | None,
    ) -> None:
        self.requests[(endpoint or "other", str(status) if status is not None else "none")] += 1
        self.faults.update(faults)
        if stream and ended:
            self.streams[ended] += 1
        if first_content_ms is not None:
            self.ttft_count += 1
            self.ttft_sum_ms += first_content_ms
            for i, bound in enumerate(TTFT_BUCKETS_MS):
                if first_content_ms <= bound:
                    self.ttft_buckets[i] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": [[e, s, n] for (e, s), n in self.requests.items()],
            "faults": dict(self.faults),
            "streams": dict(self.streams),
            "ttft_buckets": list(self.ttft_buckets),
            "ttft_sum_ms": self.ttft_sum_ms,
            "ttft_count": self.ttft_count,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Metrics:
        if not d:
            return cls()
        return cls(
            Counter({(e, s): n for e, s, n in d["requests"]}),
            Counter(d["faults"]),
            Counter(d["streams"]),
            list(d["ttft_buckets"]),
            float(d["ttft_sum_ms"]),
            int(d["ttft_count"]),
        )

    def copy(self) -> Metrics:
        return Metrics(
            Counter(self.requests),
            Counter(self.faults),
            Counter(self.streams),
            list(self.ttft_buckets),
            self.ttft_sum_ms,
            self.ttft_count,
        )

    def prometheus(self) -> str:
        """The Prometheus text exposition format."""
        out = [
            f"# HELP {PREFIX}_requests_total Requests by endpoint and status.",
            f"# TYPE {PREFIX}_requests_total counter",
        ]
        for (endpoint, status), n in sorted(self.requests.items()):
            out.append(f'{PREFIX}_requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
        out += [
            f"# HELP {PREFIX}_faults_total Faults fired, by name.",
            f"# TYPE {PREFIX}_faults_total counter",
        ]
        out += [f'{PREFIX}_faults_total{{fault="{name}"}} {n}' for name, n in sorted(self.faults.items())]
        out += [
            f"# HELP {PREFIX}_streams_total Streams by how they ended.",
            f"# TYPE {PREFIX}_streams_total counter",
        ]
        out += [f'{PREFIX}_streams_total{{ended="{k}"}} {n}' for k, n in sorted(self.streams.items())]
        out += [
            f"# HELP {PREFIX}_ttft_ms Time to the first content event, real milliseconds.",
            f"# TYPE {PREFIX}_ttft_ms histogram",
        ]
        out += [
            f'{PREFIX}_ttft_ms_bucket{{le="{b}"}} {n}'
            for b, n in zip(TTFT_BUCKETS_MS, self.ttft_buckets, strict=True)
        ]
        out += [
            f'{PREFIX}_ttft_ms_bucket{{le="+Inf"}} {self.ttft_count}',
            f"{PREFIX}_ttft_ms_sum {self.ttft_sum_ms:.3f}",
            f"{PREFIX}_ttft_ms_count {self.ttft_count}",
        ]
        return "\n".join(out) + "\n"

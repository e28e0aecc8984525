"""The request journal: one entry per request, what came in and how the reply went out.

It also keeps the server's metrics (:class:`Metrics`): counted from finished entries, and folded
into running totals when entries leave the journal (its bound, or a reset), so the Prometheus
counters only ever go up.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_SESSION = "default"


@dataclass(slots=True)
class JournalEntry:
    id: int
    request_id: str
    method: str
    path: str
    session: str = DEFAULT_SESSION
    scenario: str | None = None
    attempt: int = 0
    endpoint: str | None = None
    model: str | None = None
    stream: bool = False
    retry_count: int | None = None  # x-stainless-retry-count the client sent
    status: int | None = None
    faults: list[str] = field(default_factory=list)
    events_sent: int = 0
    bytes_sent: int = 0
    event_types: list[str] = field(default_factory=list)
    received_at: float = 0.0  # wall clock, epoch seconds
    first_byte_ms: float | None = None  # real ms after received
    first_content_ms: float | None = None
    last_byte_ms: float | None = None
    emit_ms: list[float] = field(default_factory=list)  # per event, real ms after received
    ended: str | None = None  # complete/dropped/reset/truncated/stalled/hang/client_gone
    # private bookkeeping, not reported
    _t0: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_t0", None)
        return d


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

    def add(self, e: JournalEntry) -> None:
        self.requests[(e.endpoint or "other", str(e.status) if e.status is not None else "none")] += 1
        self.faults.update(e.faults)
        if e.stream and e.ended:
            self.streams[e.ended] += 1
        if e.first_content_ms is not None:
            self.ttft_count += 1
            self.ttft_sum_ms += e.first_content_ms
            for i, bound in enumerate(TTFT_BUCKETS_MS):
                if e.first_content_ms <= bound:
                    self.ttft_buckets[i] += 1

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


class Journal:
    """Entries by session, bounded so a long load run cannot grow memory without end."""

    def __init__(self, max_per_session: int = 5000) -> None:
        self._ids = itertools.count(1)
        self._max = max_per_session
        self._by_session: dict[str, deque[JournalEntry]] = {}
        self._lock = threading.Lock()
        self._folded = Metrics()  # entries no longer in the journal

    def open(
        self, request_id: str, method: str, path: str, session: str, t0: float, received_at: float
    ) -> JournalEntry:
        entry = JournalEntry(
            id=next(self._ids),
            request_id=request_id,
            method=method,
            path=path,
            session=session,
            received_at=received_at,
            _t0=t0,
        )
        with self._lock:
            entries = self._by_session.setdefault(session, deque(maxlen=self._max))
            if len(entries) == self._max:
                self._folded.add(entries[0])
            entries.append(entry)
        return entry

    def entries(self, session: str | None = None) -> list[JournalEntry]:
        with self._lock:
            if session is not None:
                return list(self._by_session.get(session, ()))
            out = [e for d in self._by_session.values() for e in d]
        out.sort(key=lambda e: e.id)
        return out

    def reset(self, session: str | None = None) -> None:
        with self._lock:
            if session is None:
                removed = [e for d in self._by_session.values() for e in d]
                self._by_session.clear()
            else:
                removed = list(self._by_session.pop(session, ()))
            for e in removed:
                self._folded.add(e)

    def metrics(self) -> Metrics:
        """Totals over every finished request since the server started."""
        with self._lock:
            out = self._folded.copy()
            live = [e for d in self._by_session.values() for e in d]
        for e in live:
            if e.ended is not None:
                out.add(e)
        return out

"""The request journal: one entry per request, what came in and how the reply went out."""

from __future__ import annotations

import itertools
import threading
from collections import deque
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


class Journal:
    """Entries by session, bounded so a long load run cannot grow memory without end."""

    def __init__(self, max_per_session: int = 5000) -> None:
        self._ids = itertools.count(1)
        self._max = max_per_session
        self._by_session: dict[str, deque[JournalEntry]] = {}
        self._lock = threading.Lock()

    def open(self, request_id: str, method: str, path: str, session: str, t0: float,
             received_at: float) -> JournalEntry:
        entry = JournalEntry(id=next(self._ids), request_id=request_id, method=method, path=path,
                             session=session, received_at=received_at, _t0=t0)
        with self._lock:
            self._by_session.setdefault(session, deque(maxlen=self._max)).append(entry)
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
                self._by_session.clear()
            else:
                self._by_session.pop(session, None)

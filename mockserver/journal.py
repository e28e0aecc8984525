"""The request journal: one entry per request, what came in and how the reply went out.

It also keeps the server's metrics (:class:`~mockserver.metrics.Metrics`): counted from finished
entries, and folded into running totals when entries leave the journal (its bound, or a reset).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, OrderedDict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from .metrics import Metrics

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
    user_agent: str | None = None  # the client's User-Agent (first 200 characters)
    body_fields: list[str] = field(default_factory=list)  # top-level fields of a JSON body, sorted
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
    worker: int | None = None  # which worker process served it (``serve --workers N``)
    # serve --upstream: what came from the upstream (url, status, frames, frame_types, how it
    # ended: complete/dropped/reset/cancelled/unreachable, error), or {"called": false}
    upstream: dict[str, Any] | None = None
    # private bookkeeping, not reported
    _t0: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_t0", None)
        return d


MAX_SESSIONS = 10_000  # sessions kept; the least recently used one goes first


class Journal:
    """Entries by session, bounded so a long load run cannot grow memory without end: at most
    ``max_per_session`` entries in a session, and at most ``max_sessions`` sessions (20,000
    one-off sessions kept 25 MiB for good). What leaves still counts in the metrics."""

    worker: int | None = None  # the serving process, under serve --workers N

    def __init__(self, max_per_session: int = 5000, max_sessions: int = MAX_SESSIONS) -> None:
        self._ids = itertools.count(1)
        self._max = max_per_session
        self._max_sessions = max_sessions
        self._by_session: OrderedDict[str, deque[JournalEntry]] = OrderedDict()
        self._lock = threading.Lock()
        self._folded = Metrics()  # entries no longer in the journal

    def open(
        self,
        request_id: str,
        method: str,
        path: str,
        session: str,
        t0: float,
        received_at: float,
        scenario: str | None = None,
        retry_count: int | None = None,
        user_agent: str | None = None,
    ) -> JournalEntry:
        entry = JournalEntry(
            id=self._next_id(),
            request_id=request_id,
            method=method,
            path=path,
            session=session,
            scenario=scenario,
            retry_count=retry_count,
            user_agent=user_agent,
            received_at=received_at,
            worker=self.worker,
            _t0=t0,
        )
        self._keep(entry)
        return entry

    def _next_id(self) -> int:
        return next(self._ids)

    def _keep(self, entry: JournalEntry) -> None:
        session = entry.session
        with self._lock:
            entries = self._by_session.get(session)
            if entries is None:
                entries = self._by_session[session] = deque(maxlen=self._max)
                if len(self._by_session) > self._max_sessions:
                    _, oldest = self._by_session.popitem(last=False)
                    for old in oldest:
                        self._folded.add(old)
            else:
                self._by_session.move_to_end(session)
            if len(entries) == self._max:
                self._folded.add(entries[0])
            entries.append(entry)

    def session_count(self) -> int:
        with self._lock:
            return len(self._by_session)

    def finish(self, entry: JournalEntry) -> None:
        """The request of ``entry`` is over (nothing to do here: the entry is the record)."""

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


ENTRY_FIELDS = frozenset(f for f in JournalEntry.__dataclass_fields__ if not f.startswith("_"))
TRIM_EVERY = 64  # inserts between two checks of a session's bound (fewer for a small bound)


class SharedJournal(Journal):
    """The journal of ``serve --workers N``: one row per request in the shared database, so every
    worker answers ``/_mock/journal`` and ``/_mock/metrics`` for all of them.

    A request that is answered at once (no wait) costs one write: its row is appended when its
    final state is known, just before the last bytes go out. One that waits (a TTFT, a stall, a
    hang, a WebSocket session) is appended before its first wait, so every worker sees it while
    it runs, and rewritten at the end. This worker's requests still running are read from
    memory, the others' as their last write left them."""

    def __init__(self, db: Any, worker: int, max_per_session: int = 5000) -> None:
        super().__init__(max_per_session)
        self.db = db
        self.worker = worker
        self._live: dict[str, JournalEntry] = {}  # by request id, written or not yet
        self._written: dict[str, bytes] = {}  # the row last written for a live entry
        self._inserts: Counter = Counter()  # by session, since its bound was last checked

    def _next_id(self) -> int:
        return 0  # the row's id, once it has one: the journal's order across workers

    def _keep(self, entry: JournalEntry) -> None:
        self._live[entry.request_id] = entry

    def reveal(self, entry: JournalEntry) -> None:
        """The request is about to wait: give it its row now, so other workers see it running."""
        if entry.id == 0 and entry.request_id in self._live:
            self._write(entry)

    def publish(self, entry: JournalEntry) -> None:
        """Write the entry's row now (delivery calls this just before the reply's last bytes, so
        a client that asks any worker once it has them finds its request final)."""
        if entry.request_id in self._live:
            self._write(entry)

    def finish(self, entry: JournalEntry) -> None:
        if self._live.pop(entry.request_id, None) is None:
            return
        self._write(entry)
        self._written.pop(entry.request_id, None)

    def _write(self, entry: JournalEntry) -> None:
        row = orjson.dumps(entry)  # the public fields (orjson leaves out _t0), ~2 µs
        if entry.id == 0:  # the row's id is its own column: readers take it from there
            entry.id = self.db.journal_insert(entry.session, row)
            row = row.replace(b'{"id":0,', b'{"id":%d,' % entry.id, 1)  # what is stored, in effect
            self._trim(entry.session)
        elif self._written.get(entry.request_id) != row:
            self.db.journal_update(entry.id, row)
        self._written[entry.request_id] = row

    def _trim(self, session: str) -> None:
        self._inserts[session] += 1
        if self._inserts[session] >= min(TRIM_EVERY, max(1, self._max // 4)):
            self._inserts[session] = 0
            if self.db.journal_count(session) > self._max:
                self.db.journal_remove(session, keep=self._max, fold=_fold)

    def entries(self, session: str | None = None) -> list[JournalEntry]:
        live = self._live
        out = []
        for d in self.db.journal_rows(session):
            entry = live.get(d["request_id"])
            out.append(entry if entry is not None else _entry_of(d))
        # this worker's requests that have no row yet (being answered right now)
        out += [e for e in live.values() if e.id == 0 and (session is None or e.session == session)]
        return out

    def reset(self, session: str | None = None) -> None:
        self.db.journal_remove(session, keep=0, fold=_fold)
        for rid, e in list(self._live.items()):  # requests still running leave the journal too
            if session is None or e.session == session:
                del self._live[rid]
                self._written.pop(rid, None)

    def session_count(self) -> int:
        return len({d["session"] for d in self.db.journal_rows(None)})

    def metrics(self) -> Metrics:
        out = Metrics.from_json(self.db.folded())
        for e in self.entries():
            if e.ended is not None:
                out.add(e)
        return out


def _entry_of(d: dict[str, Any]) -> JournalEntry:
    return JournalEntry(**{k: v for k, v in d.items() if k in ENTRY_FIELDS})


def _fold(totals: dict[str, Any] | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the rows leaving the journal to the folded totals (all of them, finished or not, as
    the in-process journal does)."""
    m = Metrics.from_json(totals)
    for d in rows:
        m.add_dict(d)
    return m.to_json()

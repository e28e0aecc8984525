"""The gateway's SQLite database: telemetry events and the chat turns memory reads.

One connection, used from one worker thread, so the event loop never blocks on SQLite and the
writes of one request are seen by the next request's reads in order. ``":memory:"`` gives each
store its own private database (tests).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("harness.gateway")

SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payload_json TEXT NOT NULL CHECK (json_valid(payload_json))
);
CREATE INDEX IF NOT EXISTS telemetry_events_type_created ON telemetry_events (type, created_at);
CREATE TABLE IF NOT EXISTS chat_turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_sub TEXT NOT NULL,
    session_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_turns_session ON chat_turns (user_sub, session_id, id);
"""

FLUSH_DELAY_S = 0.05  # how long a telemetry row may wait for the rest of its batch

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # UTC; SQLite's date functions read it, text order is time order


def timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime(TIMESTAMP_FORMAT)[:-3]


def connect(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)
    return conn


class GatewayStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")
        self._conn: sqlite3.Connection = self._executor.submit(connect, path).result()
        self._closed = threading.Event()
        self._pending: list[tuple[tuple[str, str, str], concurrent.futures.Future[None]]] = []
        self._pending_lock = threading.Lock()
        self._flush_queued = False

    # --- running work on the store's thread ---------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(conn, *args)`` on the store's thread, after the telemetry rows queued so far
        (so a read sees every write made before it)."""
        return self._executor.submit(self._after_pending, fn, *args)

    def _after_pending(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pending:
            self._flush()
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._executor.submit(self._flush).result()  # rows still waiting for their batch
        self._executor.submit(self._conn.close).result()
        self._executor.shutdown(wait=True)

    # --- writes: queued, never awaited by a stream ----------------------------------------------

    def add_event(
        self, type_: str, payload: dict[str, Any], created_at: str | None = None
    ) -> concurrent.futures.Future[None]:
        """Queue one row. Rows are written in batches, one transaction each, at most
        ``FLUSH_DELAY_S`` after the first of a batch was queued (or before any read): handing
        each row to the store's thread at once cost a thread wake-up per request (4.5 % of the
        gateway's CPU under load, measured)."""
        row = (type_, created_at or timestamp(), json.dumps(payload, separators=(",", ":")))
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._pending_lock:
            self._pending.append((row, future))
            if not self._flush_queued:
                self._flush_queued = True
                self._schedule_flush()
        return _logged(future)

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on an event loop (a script, a test): write now
            self._submit_flush()
            return
        loop.call_later(FLUSH_DELAY_S, self._submit_flush)

    def _submit_flush(self) -> None:
        if not self._closed.is_set():
            self._executor.submit(self._flush)

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
            self._flush_queued = False
        try:
            insert_events(self._conn, [row for row, _ in batch])
        except Exception as exc:
            for _, future in batch:
                future.set_exception(exc)
        else:
            for _, future in batch:
                future.set_result(None)

    def add_turns(
        self, user_sub: str, session_id: str, turns: list[tuple[str, str]]
    ) -> concurrent.futures.Future[None]:
        return _logged(self.submit(insert_turns, user_sub, session_id, turns, timestamp()))

    # --- reads --------------------------------------------------------------------------------

    async def recent_turns(self, user_sub: str, session_id: str, limit: int) -> list[tuple[str, str]]:
        return await self.run(select_turns, user_sub, session_id, limit)

    async def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        return await self.run(select_events, type_)


def _logged(future: concurrent.futures.Future[T]) -> concurrent.futures.Future[T]:
    """A queued write nobody awaits still reports its failure in the log."""

    def report(done: concurrent.futures.Future[T]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("telemetry database write failed: %r", done.exception())

    future.add_done_callback(report)
    return future


def insert_events(conn: sqlite3.Connection, rows: list[tuple[str, str, str]]) -> None:
    """Rows of (type, created_at, payload_json), in one transaction."""
    conn.execute("BEGIN")
    try:
        conn.executemany(
            "INSERT INTO telemetry_events (type, created_at, payload_json) VALUES (?, ?, ?)", rows
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def insert_turns(
    conn: sqlite3.Connection, user_sub: str, session_id: str, turns: list[tuple[str, str]], created_at: str
) -> None:
    conn.execute("BEGIN")
    try:
        conn.executemany(
            "INSERT INTO chat_turns (user_sub, session_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)",
            [(user_sub, session_id, role, content, created_at) for role, content in turns],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def select_turns(
    conn: sqlite3.Connection, user_sub: str, session_id: str, limit: int
) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT role, content FROM chat_turns WHERE user_sub = ? AND session_id = ? ORDER BY id DESC LIMIT ?",
        (user_sub, session_id, limit),
    ).fetchall()
    return [(role, content) for role, content in reversed(rows)]


def select_events(conn: sqlite3.Connection, type_: str | None) -> list[dict[str, Any]]:
    sql = "SELECT id, type, created_at, payload_json FROM telemetry_events"
    args: tuple[Any, ...] = ()
    if type_ is not None:
        sql += " WHERE type = ?"
        args = (type_,)
    rows = conn.execute(sql + " ORDER BY id", args).fetchall()
    return [{"id": i, "type": t, "created_at": c, "payload": json.loads(p)} for i, t, c, p in rows]

"""State shared by the worker processes of ``mockopenai serve --workers N``, in SQLite.

One database file, created by the parent in a private temporary folder and removed when it stops;
each worker opens its own connection (WAL mode: readers never wait for the writer, and a write is
a short append to the log; ``synchronous=OFF``, since nothing here has to outlive the server).
What lives here, and what a request pays for it:

* attempt counters per (scenario, session), with when the first attempt came (windows): one
  upsert per request that a scenario matches, ``RETURNING`` the new count;
* the journal: a row per request, appended just before its last bytes go out (one short
  transaction), or before its first wait and again at its end when it waits; the metrics are counted from these rows, plus the totals of rows
  that left (the per-session bound, a reset), kept in one row;
* rate-limit buckets of the ``rate_limit`` fault, read and written in one ``BEGIN IMMEDIATE``;
* stored responses (background jobs): the whole timeline is written once, at creation, and a
  cancel writes when it froze it; any worker polls, resumes or cancels from that;
* small counters (the realtime connections of a session).

Times are ``time.perf_counter()`` seconds, which on Linux is the system-wide monotonic clock, so
every worker reads the same timeline. With ``--workers 1`` none of this is used: the state stays
in the process, as plain dicts.
"""

from __future__ import annotations

import pickle
import sqlite3
from typing import Any

import orjson

WORKERS_FOLDER_PREFIX = "mockopenai-workers-"  # the temporary folder serve --workers keeps this in

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    scenario TEXT NOT NULL, session TEXT NOT NULL, n INTEGER NOT NULL, started REAL NOT NULL,
    PRIMARY KEY (scenario, session)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets (
    key BLOB PRIMARY KEY, session TEXT NOT NULL, state BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_session ON journal (session, id);
CREATE TABLE IF NOT EXISTS folded (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job BLOB NOT NULL,
    cancelled_ms REAL
);
"""


def create(path: str) -> None:
    """Create the database (the parent does this once, before starting workers)."""
    db = SharedDB(path)
    db.conn.execute("PRAGMA journal_mode=WAL")
    db.conn.executescript(SCHEMA)
    db.close()


class SharedDB:
    """One worker's connection. aiohttp runs every handler on one thread, so it is used from
    that thread only; every call is one short transaction."""

    def __init__(self, path: str) -> None:
        self.path = path
        # autocommit (isolation_level=None): a statement is its own transaction unless BEGIN
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA busy_timeout=10000")

    def close(self) -> None:
        self.conn.close()

    # --- attempts and counters -------------------------------------------------------------

    def next_attempt(self, scenario: str, session: str, now: float) -> tuple[int, float]:
        """Count one more attempt of (scenario, session); (its number, when the first came)."""
        row = self.conn.execute(
            "INSERT INTO attempts (scenario, session, n, started) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (scenario, session) DO UPDATE SET n = n + 1 RETURNING n, started",
            (scenario, session, now),
        ).fetchone()
        return int(row[0]), float(row[1])

    def attempts(self, scenario: str, session: str) -> int:
        row = self.conn.execute(
            "SELECT n FROM attempts WHERE scenario = ? AND session = ?", (scenario, session)
        ).fetchone()
        return int(row[0]) if row else 0

    def reset_attempts(self, session: str | None) -> None:
        if session is None:
            self.conn.execute("DELETE FROM attempts")
        else:
            self.conn.execute("DELETE FROM attempts WHERE session = ?", (session,))

    def count(self, kind: str, key: str) -> int:
        """One more of ``kind`` for ``key``; the new count."""
        row = self.conn.execute(
            "INSERT INTO counters (kind, key, n) VALUES (?, ?, 1) "
            "ON CONFLICT (kind, key) DO UPDATE SET n = n + 1 RETURNING n",
            (kind, key),
        ).fetchone()
        return int(row[0])

    # --- rate-limit buckets ----------------------------------------------------------------

    def update_bucket(self, key: tuple[Any, ...], session: str, update: Any) -> Any:
        """``update(state or None) -> (new state, result)`` under the write lock; the result."""
        k = pickle.dumps(key)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT state FROM buckets WHERE key = ?", (k,)).fetchone()
            state, result = update(pickle.loads(row[0]) if row else None)
            conn.execute(
                "INSERT INTO buckets (key, session, state) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                (k, session, pickle.dumps(state)),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def reset_buckets(self, session: str | None) -> None:
        if session is None:
            self.conn.execute("DELETE FROM buckets")
        else:
            self.conn.execute("DELETE FROM buckets WHERE session = ?", (session,))

    # --- journal ---------------------------------------------------------------------------

    def journal_insert(self, session: str, row: bytes) -> int:
        """Append a row (JSON bytes); its id, which orders the journal across workers."""
        cur = self.conn.execute("INSERT INTO journal (session, data) VALUES (?, ?)", (session, row))
        return int(cur.lastrowid or 0)

    def journal_update(self, entry_id: int, row: bytes) -> None:
        self.conn.execute("UPDATE journal SET data = ? WHERE id = ?", (row, entry_id))

    def journal_rows(self, session: str | None) -> list[dict[str, Any]]:
        """The rows (entries as dicts, ``id`` the row's), oldest first."""
        if session is None:
            rows = self.conn.execute("SELECT id, data FROM journal ORDER BY id").fetchall()
        else:
            rows = self.conn.execute(
                "SELECT id, data FROM journal WHERE session = ? ORDER BY id", (session,)
            ).fetchall()
        out = []
        for i, data in rows:
            d = orjson.loads(data)
            d["id"] = i  # a row written before its id was known says 0
            out.append(d)
        return out

    def journal_count(self, session: str) -> int:
        return int(
            self.conn.execute("SELECT COUNT(*) FROM journal WHERE session = ?", (session,)).fetchone()[0]
        )

    def journal_remove(self, session: str | None, keep: int = 0, fold: Any = None) -> None:
        """Remove the session's rows but its newest ``keep`` (``session=None``: every row), adding
        the removed ones to the folded totals with ``fold(totals, rows) -> totals``."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if session is None:
                gone = conn.execute("SELECT id, data FROM journal ORDER BY id").fetchall()
            else:
                (n,) = conn.execute("SELECT COUNT(*) FROM journal WHERE session = ?", (session,)).fetchone()
                gone = conn.execute(
                    "SELECT id, data FROM journal WHERE session = ? ORDER BY id LIMIT ?",
                    (session, max(0, n - keep)),
                ).fetchall()
            if gone:
                last = gone[-1][0]
                if session is None:
                    conn.execute("DELETE FROM journal WHERE id <= ?", (last,))
                else:
                    conn.execute("DELETE FROM journal WHERE session = ? AND id <= ?", (session, last))
                if fold is not None:
                    totals = fold(self._folded(), [orjson.loads(d) for _, d in gone])
                    conn.execute(
                        "INSERT INTO folded (id, data) VALUES (1, ?) "
                        "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                        (orjson.dumps(totals),),
                    )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def folded(self) -> dict[str, Any] | None:
        return self._folded()

    def _folded(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM folded WHERE id = 1").fetchone()
        return orjson.loads(row[0]) if row else None

    # --- stored responses ------------------------------------------------------------------

    def job_add(self, rid: str, job: Any, max_stored: int) -> None:
        conn = self.conn
        conn.execute(
            "INSERT INTO jobs (id, job, cancelled_ms) VALUES (?, ?, NULL) "
            "ON CONFLICT (id) DO UPDATE SET job = excluded.job, cancelled_ms = NULL",
            (rid, pickle.dumps(job)),
        )
        conn.execute("DELETE FROM jobs WHERE seq <= (SELECT MAX(seq) FROM jobs) - ?", (max_stored,))

    def job_get(self, rid: str) -> tuple[Any, float | None] | None:
        row = self.conn.execute("SELECT job, cancelled_ms FROM jobs WHERE id = ?", (rid,)).fetchone()
        return None if row is None else (pickle.loads(row[0]), row[1])

    def job_has(self, rid: str) -> bool:
        return self.conn.execute("SELECT 1 FROM jobs WHERE id = ?", (rid,)).fetchone() is not None

    def job_delete(self, rid: str) -> bool:
        return self.conn.execute("DELETE FROM jobs WHERE id = ?", (rid,)).rowcount > 0

    def job_cancel(self, rid: str, now_ms: float) -> float | None:
        """Freeze the job at ``now_ms`` unless it is frozen already; when it was frozen (None:
        the job is gone)."""
        row = self.conn.execute(
            "UPDATE jobs SET cancelled_ms = coalesce(cancelled_ms, ?) WHERE id = ? RETURNING cancelled_ms",
            (now_ms, rid),
        ).fetchone()
        return None if row is None else float(row[0])

    def job_cancelled(self, rid: str) -> float | None:
        row = self.conn.execute("SELECT cancelled_ms FROM jobs WHERE id = ?", (rid,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

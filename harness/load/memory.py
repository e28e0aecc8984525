"""The memory variant of a gateway load run: session ids, and what memory did during the run.

A memory user keeps one ``sessionId`` for all its turns and sends ``useMemory: true``, so every
turn after its first reads the earlier ones before the upstream call. Whether that happened is
read back from the gateway's own telemetry (``openai_call`` rows carry ``memory_turns`` and
``memory_ms``), so a run cannot pass its "TTFT with memory" target without memory being read.
"""

from __future__ import annotations

import random
import sqlite3
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.gateway.store import select_events
from harness.gateway.telemetry import OPENAI_CALL

from .stats import summary

_SUFFIX = string.ascii_lowercase + string.digits


def new_session_id(now: datetime | None = None, rng: random.Random | None = None) -> str:
    """``session-YYYYMMDD-HHMMSS-xxxx``, the shape the gateway accepts (seed 004)."""
    now = now or datetime.now(UTC)
    suffix = "".join((rng or random).choices(_SUFFIX, k=4))
    return f"session-{now:%Y%m%d-%H%M%S}-{suffix}"


def memory_figures(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Of the chat turns that named a session: how many read earlier turns, and how long reading took."""
    turns = [c for c in calls if c.get("session_id")]
    recalled = [c for c in turns if (c.get("memory_turns") or 0) > 0]
    return {
        "turns": len(turns),
        "recalled": len(recalled),
        "recall_rate": len(recalled) / len(turns) if turns else None,
        "memory_ms": summary(c["memory_ms"] for c in turns if c.get("memory_ms") is not None),
    }


def read_memory_figures(telemetry_db: str | Path) -> dict[str, Any]:
    """:func:`memory_figures` of the ``openai_call`` rows in a gateway's telemetry database."""
    conn = sqlite3.connect(f"file:{Path(telemetry_db)}?mode=ro", uri=True)
    try:
        rows = select_events(conn, OPENAI_CALL)
    finally:
        conn.close()
    return memory_figures([r["payload"] for r in rows])

"""``useMemory``: earlier turns of the session, raced against a timeout.

A slow store never blocks the answer: past ``timeout_s`` the turn goes on without memory.
Turns are kept per (user, session), so one user never reads another's conversation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .store import GatewayStore

log = logging.getLogger("harness.gateway")


@dataclass(slots=True)
class Recall:
    turns: list[tuple[str, str]] = field(default_factory=list)  # (role, content), oldest first
    elapsed_ms: float = 0.0
    timed_out: bool = False


async def recall(
    store: GatewayStore, user: str, session_id: str | None, max_turns: int, timeout_s: float
) -> Recall:
    if session_id is None or max_turns <= 0:
        return Recall()
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            turns = await store.recent_turns(user, session_id, max_turns)
    except TimeoutError:
        elapsed = (time.perf_counter() - t0) * 1000
        log.warning("memory retrieval timed out after %.0f ms; answering without memory", elapsed)
        return Recall(elapsed_ms=elapsed, timed_out=True)
    except Exception as exc:  # a broken store costs the memory, never the answer
        log.warning("memory retrieval failed (%r); answering without memory", exc)
        return Recall(elapsed_ms=(time.perf_counter() - t0) * 1000)
    elapsed = (time.perf_counter() - t0) * 1000
    log.info("memory retrieval completed: %d turns in %.1f ms", len(turns), elapsed)
    return Recall(turns=turns, elapsed_ms=elapsed)


def build_messages(history: list[tuple[str, str]], message: str) -> list[dict[str, Any]]:
    """The upstream conversation: earlier turns in order, then the new user message."""
    return [{"role": role, "content": content} for role, content in history] + [
        {"role": "user", "content": message}
    ]

"""A bounded pool of concurrent streams (seed 002): an ``asyncio.Semaphore``, no polling.

    pool = StreamPool(max_concurrent=5)
    async for chunk in pool.stream("job-1", lambda: client.chat.completions.create(..., stream=True)):
        ...

A stream holds its slot from open until it ends, fails or is closed. A consumer that may stop
early closes it at once with ``contextlib.aclosing(pool.stream(...))``; otherwise the slot is
freed only when the abandoned generator is finalised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any


class StreamPool:
    def __init__(self, max_concurrent: int = 5) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent}")
        self.max_concurrent = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent)
        self._active: set[str] = set()
        self.peak = 0  # the most streams ever open at once
        self.opened = 0

    @property
    def active(self) -> int:
        return len(self._active)

    def active_ids(self) -> list[str]:
        return sorted(self._active)

    @asynccontextmanager
    async def slot(self, stream_id: str) -> AsyncIterator[None]:
        """Hold one slot for the body's duration; waits (without polling) while the pool is full."""
        if stream_id in self._active:
            raise ValueError(f"stream id {stream_id!r} is already active in this pool")
        async with self._slots:
            self._active.add(stream_id)
            self.opened += 1
            self.peak = max(self.peak, len(self._active))
            try:
                yield
            finally:
                self._active.discard(stream_id)

    async def stream(self, stream_id: str, factory: Callable[[], Awaitable[Any]]) -> AsyncIterator[Any]:
        """Open ``factory()`` inside a slot and yield its items; the slot is freed at the end."""
        async with self.slot(stream_id):
            source = await factory()
            try:
                async for item in source:
                    yield item
            finally:
                close = getattr(source, "close", None) or getattr(source, "aclose", None)
                if close is not None:
                    result = close()
                    if asyncio.iscoroutine(result):
                        await result

"""The benchmark's client: many concurrent SSE streams over aiohttp, measured per stream.

Two ways to read a stream:

* :func:`measure_stream` parses every frame (the load runs' :class:`SSEReader` and
  :class:`StreamWatch`), for TTFT and total time;
* :func:`count_stream` only counts frames in the raw bytes, so a throughput run measures the
  server rather than the client's JSON parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.load.stream_watch import CONNECTION, HTTP_ERROR, StreamOutcome, StreamWatch, failed
from servekit.sse import Frame, SSEReader


@dataclass(frozen=True, slots=True)
class StreamRequest:
    url: str
    body: dict[str, Any]
    headers: dict[str, str]
    protocol: str  # "chat" | "gateway" (see harness.load.stream_watch)


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    """A session with no connection cap (``limit=0``) and no total timeout."""
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None, sock_read=30))


async def measure_stream(
    session: aiohttp.ClientSession, req: StreamRequest, tap: Callable[[Frame, float], None] | None = None
) -> StreamOutcome:
    """One stream, parsed frame by frame; ``tap`` (when given) also sees every frame, comments
    included, with its arrival time in ms since the request was sent."""
    t0 = time.perf_counter()

    def ms() -> float:
        return (time.perf_counter() - t0) * 1000.0

    try:
        async with session.post(req.url, json=req.body, headers=req.headers) as resp:
            if resp.status != 200:
                await resp.read()
                return failed(HTTP_ERROR, f"HTTP {resp.status}", resp.status, ms())
            reader, watch = SSEReader(), StreamWatch(req.protocol)
            try:
                async for line in resp.content:
                    for frame in reader.feed(line):
                        t = ms()
                        watch.feed(frame, t)
                        if tap is not None:
                            tap(frame, t)
            except (TimeoutError, aiohttp.ClientError) as exc:
                watch.connection_lost(type(exc).__name__)
            return watch.finish(ms(), resp.status)
    except (TimeoutError, aiohttp.ClientError) as exc:
        return failed(CONNECTION, type(exc).__name__, 0, ms())


async def count_stream(session: aiohttp.ClientSession, req: StreamRequest) -> tuple[bool, int]:
    """(ended with its terminator, number of frames) for one stream, reading raw bytes."""
    frames, tail = 0, b""
    try:
        async with session.post(req.url, json=req.body, headers=req.headers) as resp:
            if resp.status != 200:
                await resp.read()
                return False, 0
            async for chunk in resp.content.iter_any():
                frames += chunk.count(b"\n\n")
                tail = (tail + chunk)[-32:]
    except (TimeoutError, aiohttp.ClientError):
        return False, frames
    return tail.endswith(b"data: [DONE]\n\n"), frames


async def run_concurrent(
    concurrency: int,
    per_worker: int,
    one: Callable[[], Awaitable[Any]],
    stagger_s: float = 0.0,
) -> list[Any]:
    """``concurrency`` workers each doing ``per_worker`` calls of ``one`` back to back.

    ``stagger_s`` spreads the workers' first calls uniformly over that many seconds, so the
    streams overlap without all their first tokens landing in the same instant.
    """
    rng = random.Random(concurrency)

    async def worker() -> list[Any]:
        if stagger_s > 0:
            await asyncio.sleep(rng.uniform(0, stagger_s))
        return [await one() for _ in range(per_worker)]

    results = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r for batch in results for r in batch]


async def run_for(
    concurrency: int, seconds: float, one: Callable[[], Awaitable[Any]]
) -> tuple[list[Any], float]:
    """``concurrency`` workers calling ``one`` until ``seconds`` have passed; (results, wall seconds)."""
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()

    async def worker() -> list[Any]:
        out = []
        while time.perf_counter() < deadline:
            out.append(await one())
        return out

    results = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r for batch in results for r in batch], time.perf_counter() - t0


class LoopLag:
    """How late this process's own event loop wakes up, sampled every ``period_s`` while running.

    A client reading hundreds of streams on a busy machine sees every frame late by this much; the
    figure separates that from lateness on the server's side.
    """

    def __init__(self, period_s: float = 0.01) -> None:
        self.period_s = period_s
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.period_s)
            self.lags_ms.append(max(0.0, (time.perf_counter() - t - self.period_s) * 1000.0))

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._sample(), name="loop-lag")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

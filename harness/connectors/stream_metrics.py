"""Stream metrics (seed 002): chunks, bytes, duration, throughput.

Bytes are the size of each chunk's JSON (its wire payload), measured the same way for SDK
models, dicts and strings.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any


def chunk_size(chunk: Any) -> int:
    if isinstance(chunk, bytes):
        return len(chunk)
    if isinstance(chunk, str):
        return len(chunk.encode())
    dump = getattr(chunk, "model_dump_json", None)
    if dump is not None:
        return len(dump(exclude_unset=True).encode())
    return len(json.dumps(chunk, separators=(",", ":"), default=str).encode())


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    chunks: int
    bytes: int
    duration_ms: float
    avg_chunk_bytes: float
    bytes_per_s: float
    chunks_per_s: float
    ttfc_ms: float | None  # time to first chunk

    def format(self) -> str:
        first = "n/a" if self.ttfc_ms is None else f"{self.ttfc_ms:.0f} ms"
        return (
            f"chunks={self.chunks} bytes={self.bytes / 1024:.2f} KB "
            f"avg={self.avg_chunk_bytes:.1f} B duration={self.duration_ms / 1000:.2f} s "
            f"throughput={self.bytes_per_s / 1024:.2f} KB/s first-chunk={first}"
        )


class StreamMetrics:
    """Record chunks as they arrive; ``snapshot()`` at any time. ``clock`` returns seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.first: float | None = None
        self.last: float | None = None
        self.chunks = 0
        self.bytes = 0

    def record(self, chunk: Any) -> None:
        now = self.clock()
        if self.first is None:
            self.first = now
        self.last = now
        self.chunks += 1
        self.bytes += chunk_size(chunk)

    def snapshot(self) -> MetricsSnapshot:
        end = self.last if self.last is not None else self.clock()
        duration = max(0.0, end - self.started)
        return MetricsSnapshot(
            chunks=self.chunks,
            bytes=self.bytes,
            duration_ms=duration * 1000,
            avg_chunk_bytes=self.bytes / self.chunks if self.chunks else 0.0,
            bytes_per_s=self.bytes / duration if duration > 0 else 0.0,
            chunks_per_s=self.chunks / duration if duration > 0 else 0.0,
            ttfc_ms=None if self.first is None else (self.first - self.started) * 1000,
        )

    async def wrap(self, stream: AsyncIterable[Any]) -> AsyncIterator[Any]:
        self.started = self.clock()
        async for chunk in stream:
            self.record(chunk)
            yield chunk

"""Exponential backoff between reconnects: one policy shared by every connector that retries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``initial_ms * multiplier ** (n - 1)`` before retry ``n``, capped at ``max_ms``.

    ``max_retries`` bounds how many reconnects one stream gets; 0 disables them.
    """

    initial_ms: float = 250.0
    multiplier: float = 2.0
    max_ms: float = 8000.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.initial_ms < 0 or self.max_ms < 0:
            raise ValueError("Backoff delays must be >= 0 ms")
        if self.multiplier < 1:
            raise ValueError(f"Backoff multiplier must be >= 1, got {self.multiplier}")
        if self.max_retries < 0:
            raise ValueError(f"Backoff max_retries must be >= 0, got {self.max_retries}")

    def delay_ms(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based)."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        return min(self.max_ms, self.initial_ms * self.multiplier ** (retry - 1))

    def allows(self, retry: int) -> bool:
        return retry <= self.max_retries

    async def wait(self, retry: int) -> float:
        """Sleep before retry ``retry``; returns the delay in ms."""
        delay = self.delay_ms(retry)
        await asyncio.sleep(delay / 1000)
        return delay

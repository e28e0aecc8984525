"""The one clock: every wait in the mock goes through it, so a time scale shrinks them all.

A scenario says "stall 30 000 ms"; with ``time_scale=0.01`` the mock waits 300 ms.
Timestamps reported to clients (``created``, ``created_at``) come from :meth:`Clock.wall`.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)

    @staticmethod
    def monotonic() -> float:
        """Seconds on a monotonic clock (for measuring, never scaled)."""
        return time.perf_counter()

    @staticmethod
    def wall() -> float:
        """Seconds since the epoch (for payload timestamps)."""
        return time.time()

    def seconds(self, ms: float) -> float:
        """Real seconds a scenario duration of ``ms`` milliseconds takes under this clock."""
        return max(0.0, ms) * self.time_scale / 1000.0

    def scenario_ms(self, real_seconds: float) -> float:
        """Scenario milliseconds that ``real_seconds`` stand for under this clock (the inverse of
        :meth:`seconds`): every scaled duration goes through these two."""
        return real_seconds * 1000.0 / self.time_scale

    async def sleep(self, ms: float) -> None:
        delay = self.seconds(ms)
        if delay > 0:
            await asyncio.sleep(delay)

    @classmethod
    async def sleep_until(cls, deadline: float) -> None:
        """Wait until monotonic time ``deadline`` (seconds, already scaled); no-op when past."""
        delay = deadline - cls.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    @staticmethod
    async def sleep_real(seconds: float) -> None:
        """Wait ``seconds`` of real time (an interval already scaled by :meth:`seconds`)."""
        if seconds > 0:
            await asyncio.sleep(seconds)

"""Token buckets over requests per minute and tokens per minute, as OpenAI's limiter reports them.

Buckets are kept per (scenario, session, fault) by :class:`RateLimits`; time is scenario
milliseconds (the server's time scale applies), so a 60 000 ms refill shrinks with the clock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

MINUTE_MS = 60_000.0


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` units, refilled continuously at ``capacity`` per minute."""

    capacity: float
    level: float
    last_ms: float

    @classmethod
    def full(cls, capacity: float, now_ms: float) -> TokenBucket:
        return cls(capacity=float(capacity), level=float(capacity), last_ms=now_ms)

    @property
    def per_ms(self) -> float:
        return self.capacity / MINUTE_MS

    def refill(self, now_ms: float) -> None:
        if now_ms > self.last_ms:
            self.level = min(self.capacity, self.level + (now_ms - self.last_ms) * self.per_ms)
            self.last_ms = now_ms

    def wait_ms(self, amount: float) -> float:
        """Milliseconds until ``amount`` units are available (0: now)."""
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing / self.per_ms

    def reset_ms(self) -> float:
        """Milliseconds until the bucket is full again."""
        return (self.capacity - self.level) / self.per_ms

    def remaining(self) -> int:
        return max(0, math.floor(self.level + 1e-9))


@dataclass(slots=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    kind: str = ""  # "requests" or "tokens" when refused
    limit: int = 0
    retry_after_ms: float = 0.0


def format_reset(ms: float) -> str:
    """OpenAI's duration format for ``x-ratelimit-reset-*``: ``6ms``, ``1.5s``, ``2m0s``."""
    ms = max(0.0, ms)
    if ms < 1000:
        return f"{math.ceil(ms)}ms"
    seconds = ms / 1000.0
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"


class RateLimiter:
    """One client's limits: a request bucket (rpm) and a token bucket (tpm), either optional."""

    def __init__(self, rpm: int | None, tpm: int | None, now_ms: float) -> None:
        self.requests = TokenBucket.full(rpm, now_ms) if rpm else None
        self.tokens = TokenBucket.full(tpm, now_ms) if tpm else None

    def take(self, tokens: int, now_ms: float) -> Decision:
        buckets = [
            (b, n, kind)
            for b, n, kind in ((self.requests, 1, "requests"), (self.tokens, tokens, "tokens"))
            if b is not None
        ]
        for bucket, _, _ in buckets:
            bucket.refill(now_ms)
        refused = next(((b, n, kind) for b, n, kind in buckets if b.wait_ms(n) > 0), None)
        if refused is None:
            for bucket, amount, _ in buckets:
                bucket.level -= min(amount, bucket.capacity)
        decision = Decision(allowed=refused is None, headers=self.headers())
        if refused is not None:
            bucket, amount, kind = refused
            decision.kind, decision.limit = kind, int(bucket.capacity)
            decision.retry_after_ms = bucket.wait_ms(amount)
        return decision

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind, bucket in (("requests", self.requests), ("tokens", self.tokens)):
            if bucket is not None:
                out[f"x-ratelimit-limit-{kind}"] = str(int(bucket.capacity))
                out[f"x-ratelimit-remaining-{kind}"] = str(bucket.remaining())
                out[f"x-ratelimit-reset-{kind}"] = format_reset(bucket.reset_ms())
        return out


class RateLimits:
    """Limiters by key (scenario, session, fault); cleared per session or all at once."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[Any, ...], RateLimiter] = {}
        self._lock = threading.Lock()

    def take(
        self, key: tuple[Any, ...], rpm: int | None, tpm: int | None, tokens: int, now_ms: float
    ) -> Decision:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._limiters[key] = RateLimiter(rpm, tpm, now_ms)
            return limiter.take(tokens, now_ms)

    def reset(self, session: str | None = None) -> None:
        with self._lock:
            if session is None:
                self._limiters.clear()
            else:
                for key in [k for k in self._limiters if k[1] == session]:
                    del self._limiters[key]


class SharedRateLimits(RateLimits):
    """The buckets of ``serve --workers N``, in the shared database: every worker draws from the
    same bucket, read and written back under the database's write lock."""

    def __init__(self, db: Any) -> None:
        super().__init__()
        self.db = db

    def take(
        self, key: tuple[Any, ...], rpm: int | None, tpm: int | None, tokens: int, now_ms: float
    ) -> Decision:
        def update(limiter: RateLimiter | None) -> tuple[RateLimiter, Decision]:
            if limiter is None:
                limiter = RateLimiter(rpm, tpm, now_ms)
            return limiter, limiter.take(tokens, now_ms)

        return self.db.update_bucket(key, str(key[1]), update)

    def reset(self, session: str | None = None) -> None:
        self.db.reset_buckets(session)

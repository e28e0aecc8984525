"""The gateway's retry policy, one small function per decision (modelled on openai-python's
``_should_retry`` / ``_parse_retry_after_header`` / ``_calculate_retry_timeout``).

It runs only until the first token has reached the client: after that a failure is reported
in-band, never retried (the user already saw part of an answer).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .failures import Failure


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2  # retries after the first attempt
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 20.0  # a server asking for a longer wait is not retried

    @classmethod
    def from_settings(cls, settings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            initial_delay_s=settings.retry_initial_ms / 1000,
            max_delay_s=settings.retry_max_delay_ms / 1000,
            max_retry_after_s=settings.retry_after_max_ms / 1000,
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def parse_retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``retry-after`` (seconds or an
    HTTP date); None when neither says anything usable."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = _header(headers, name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    value = _header(headers, "retry-after")
    if value:
        try:
            parsed = email.utils.parsedate_tz(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return max(0.0, email.utils.mktime_tz(parsed) - now())
    return None


def should_retry(failure: Failure, policy: RetryPolicy) -> bool:
    """May this failure be tried again at all (budget aside)? ``x-should-retry`` wins, then a too
    long ``retry-after`` refuses, then the failure's own kind (408/409/429/5xx, connection)."""
    verdict = _header(failure.headers, "x-should-retry")
    if verdict == "true":
        return True
    if verdict == "false":
        return False
    retry_after = parse_retry_after(failure.headers)
    if retry_after is not None and retry_after > policy.max_retry_after_s:
        return False
    return failure.retryable


def retry_delay(
    retries_done: int,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``: the server's retry-after when it
    gives a sane one, else exponential backoff from ``initial_delay_s`` capped at ``max_delay_s``,
    minus up to 25 % jitter so that clients retrying together spread out."""
    retry_after = parse_retry_after(headers or {})
    if retry_after is not None and 0 < retry_after <= policy.max_retry_after_s:
        return retry_after
    backoff = min(policy.initial_delay_s * 2.0 ** min(retries_done, 32), policy.max_delay_s)
    return max(0.0, backoff * (1 - 0.25 * rng()))


def next_retry(
    failure: Failure,
    retries_done: int,
    policy: RetryPolicy,
    token_sent: bool,
    time_left_s: float,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """The wait before trying again, or None when this failure must be reported now: a token was
    already sent, the budget is spent, the failure is not retryable, or the wait would overrun the
    first-token deadline."""
    if token_sent or retries_done >= policy.max_retries or not should_retry(failure, policy):
        return None
    delay = retry_delay(retries_done, policy, failure.headers, rng)
    return delay if delay < time_left_s else None

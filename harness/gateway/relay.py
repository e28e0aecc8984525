"""Relaying one chat turn from the upstream to a client-facing sink, with the retry policy.

Knows nothing about HTTP on either side: the upstream is a function returning an async iterator
of :class:`~.upstream.Piece`, the client is a :class:`Sink`. Retries happen only before the
first token reached the sink; after it, a failure becomes ``error`` then ``done("error")``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from .failures import OPENAI_TIMEOUT, Failure, IncompleteStream, classify
from .retry_policy import RetryPolicy, next_retry
from .upstream import Piece

log = logging.getLogger("harness.gateway")

OpenStream = Callable[[int], AsyncGenerator[Piece, None]]  # retry_count -> pieces of one attempt


class ClientGone(Exception):
    """The client went away: nothing more can be sent, the upstream call must stop."""


class Sink(Protocol):
    async def token(self, text: str) -> None: ...
    async def usage(self, tokens_in: int, tokens_out: int) -> None: ...
    async def error(self, failure: Failure) -> None: ...
    async def done(self, finish_reason: str, provider_retry_count: int) -> None: ...


@dataclass(slots=True)
class CallResult:
    """What happened, for telemetry and logs."""

    provider_retry_count: int = 0
    finish_reason: str | None = None
    failure: Failure | None = None
    ttft_ms: float | None = None
    total_ms: float = 0.0
    tokens_in: int | None = None
    tokens_out: int | None = None
    deltas: int = 0
    text: str = ""
    attempt_errors: list[str] = field(default_factory=list)  # codes of the retried failures


async def relay(
    open_stream: OpenStream,
    sink: Sink,
    policy: RetryPolicy,
    first_token_timeout_s: float,
    *,
    result: CallResult | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> CallResult:
    """Relay one turn into ``sink`` and return what happened. ``result`` (filled in as it goes)
    lets a caller keep the partial record when the client goes away mid-stream."""
    result = result if result is not None else CallResult()
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    deadline = loop.time() + first_token_timeout_s
    parts: list[str] = []
    try:
        while True:
            try:
                await _attempt(open_stream, sink, result, parts, deadline, t0)
                break
            except ClientGone:
                raise
            except Exception as exc:  # every upstream failure is classified, none escapes
                failure = _classify(exc, result)
                delay = next_retry(
                    failure,
                    result.provider_retry_count,
                    policy,
                    result.deltas > 0,
                    deadline - loop.time(),
                    rng,
                )
                if delay is None:
                    result.failure = failure
                    log.warning(
                        "upstream failed: %s after %d retries (%s)",
                        failure.code,
                        result.provider_retry_count,
                        failure.detail,
                    )
                    await sink.error(failure)
                    result.finish_reason = "error"
                    break
                result.attempt_errors.append(failure.code)
                log.info(
                    "upstream attempt %d failed with %s (%s); retrying in %.0f ms",
                    result.provider_retry_count + 1,
                    failure.code,
                    failure.detail,
                    delay * 1000,
                )
                await sleep(delay)
                result.provider_retry_count += 1
        if result.failure is None and result.tokens_out is not None:
            await sink.usage(result.tokens_in or 0, result.tokens_out)
        await sink.done(result.finish_reason or "error", result.provider_retry_count)
    finally:
        result.text = "".join(parts)
        result.total_ms = (time.perf_counter() - t0) * 1000
    return result


def _classify(exc: Exception, result: CallResult) -> Failure:
    if isinstance(exc, TimeoutError) and result.deltas == 0:
        # the first-token deadline itself ran out: nothing is left to retry with
        return Failure(OPENAI_TIMEOUT, retryable=False, detail="no first token before the deadline")
    return classify(exc)


async def _attempt(
    open_stream: OpenStream, sink: Sink, result: CallResult, parts: list[str], deadline: float, t0: float
) -> None:
    finish: str | None = None
    async with asyncio.timeout_at(deadline if result.deltas == 0 else None) as window:
        pieces = open_stream(result.provider_retry_count)
        try:
            async for piece in pieces:
                if piece.text:
                    if result.deltas == 0:
                        window.reschedule(None)  # the first token is here: the deadline is met
                        result.ttft_ms = (time.perf_counter() - t0) * 1000
                    result.deltas += 1
                    parts.append(piece.text)
                    await sink.token(piece.text)
                if piece.finish_reason is not None:
                    finish = piece.finish_reason
                if piece.tokens_out is not None:
                    result.tokens_in, result.tokens_out = piece.tokens_in, piece.tokens_out
        finally:
            await pieces.aclose()
    if finish is None:
        raise IncompleteStream("the upstream stream ended without a finish_reason")
    result.finish_reason = finish

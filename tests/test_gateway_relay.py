"""The relay on its own: retries before the first token only, in-band error then done after it,
a deadline for the first token, and a client that goes away stops the upstream stream."""

from __future__ import annotations

import asyncio

import httpx2
import openai
import pytest

from harness.gateway.failures import OPENAI_TIMEOUT, RATE_LIMIT, UPSTREAM_DISCONNECTED, Failure
from harness.gateway.relay import ClientGone, relay
from harness.gateway.retry_policy import RetryPolicy
from harness.gateway.upstream import Piece

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
POLICY = RetryPolicy(max_retries=2, initial_delay_s=0.001, max_delay_s=0.002)


class RecordingSink:
    def __init__(self, gone_after_tokens: int | None = None) -> None:
        self.events: list[tuple[str, object]] = []
        self.gone_after = gone_after_tokens

    async def token(self, text: str) -> None:
        if self.gone_after is not None and len(self.names("token")) >= self.gone_after:
            raise ClientGone("closed")
        self.events.append(("token", text))

    async def usage(self, tokens_in: int, tokens_out: int) -> None:
        self.events.append(("usage", (tokens_in, tokens_out)))

    async def error(self, failure: Failure) -> None:
        self.events.append(("error", failure.code))

    async def done(self, finish_reason: str, provider_retry_count: int) -> None:
        self.events.append(("done", (finish_reason, provider_retry_count)))

    def names(self, name: str | None = None) -> list[str]:
        return [n for n, _ in self.events if name is None or n == name]


def rate_limited() -> openai.RateLimitError:
    return openai.RateLimitError("429", response=httpx2.Response(429, request=REQUEST), body=None)


def script(*attempts):
    """An upstream whose attempt n plays attempts[n]: a list of pieces and exceptions."""
    opened: list[int] = []
    closed: list[int] = []

    def open_stream(retry_count: int):
        opened.append(retry_count)

        async def gen():
            try:
                for item in attempts[len(opened) - 1]:
                    if isinstance(item, BaseException):
                        raise item
                    if isinstance(item, float):
                        await asyncio.sleep(item)
                        continue
                    yield item
            finally:
                closed.append(retry_count)

        return gen()

    return open_stream, opened, closed


OK = [
    Piece(text="Hello"),
    Piece(text=" there"),
    Piece(finish_reason="stop"),
    Piece(tokens_in=5, tokens_out=2),
]


async def test_retry_before_the_first_token_then_success():
    open_stream, opened, _ = script([rate_limited()], [Piece(text="")] + OK)
    sink = RecordingSink()
    result = await relay(open_stream, sink, POLICY, first_token_timeout_s=5)
    assert opened == [0, 1]  # the retry count is passed on (x-stainless-retry-count)
    assert sink.events == [("token", "Hello"), ("token", " there"), ("usage", (5, 2)), ("done", ("stop", 1))]
    assert (result.provider_retry_count, result.text, result.attempt_errors) == (
        1,
        "Hello there",
        [RATE_LIMIT],
    )


async def test_after_the_first_token_a_failure_is_reported_not_retried():
    cut = openai.APIConnectionError(request=REQUEST)
    open_stream, opened, _ = script([Piece(text="Hel"), cut], OK)
    sink = RecordingSink()
    result = await relay(open_stream, sink, POLICY, first_token_timeout_s=5)
    assert opened == [0]
    assert sink.events == [("token", "Hel"), ("error", UPSTREAM_DISCONNECTED), ("done", ("error", 0))]
    assert result.failure.code == UPSTREAM_DISCONNECTED


async def test_budget_runs_out():
    open_stream, opened, _ = script([rate_limited()], [rate_limited()], [rate_limited()], OK)
    sink = RecordingSink()
    result = await relay(open_stream, sink, POLICY, first_token_timeout_s=5)
    assert opened == [0, 1, 2]
    assert sink.events == [("error", RATE_LIMIT), ("done", ("error", 2))]
    assert result.provider_retry_count == 2


async def test_stream_ending_without_finish_reason_is_a_disconnect():
    open_stream, _, _ = script([Piece(text="partial")])
    sink = RecordingSink()
    await relay(open_stream, sink, POLICY, first_token_timeout_s=5)
    assert sink.names() == ["token", "error", "done"]
    assert sink.events[1] == ("error", UPSTREAM_DISCONNECTED)


async def test_first_token_deadline():
    open_stream, _, closed = script([5.0] + OK)
    sink = RecordingSink()
    result = await relay(open_stream, sink, POLICY, first_token_timeout_s=0.05)
    assert sink.events == [("error", OPENAI_TIMEOUT), ("done", ("error", 0))]
    assert closed == [0]
    assert result.total_ms < 1000


async def test_the_deadline_stops_counting_at_the_first_token():
    open_stream, _, _ = script([Piece(text="a"), 0.1, Piece(text="b"), Piece(finish_reason="stop")])
    sink = RecordingSink()
    await relay(open_stream, sink, POLICY, first_token_timeout_s=0.05)
    assert sink.names() == ["token", "token", "done"]


async def test_client_gone_stops_the_upstream_at_once():
    open_stream, _, closed = script(
        [Piece(text="a"), Piece(text="b"), Piece(text="c"), Piece(finish_reason="stop")]
    )
    sink = RecordingSink(gone_after_tokens=1)
    with pytest.raises(ClientGone):
        await relay(open_stream, sink, POLICY, first_token_timeout_s=5)
    assert closed == [0]
    assert sink.names() == ["token"]


async def test_cancellation_closes_the_upstream_stream():
    open_stream, _, closed = script([Piece(text="a"), 10.0])
    task = asyncio.create_task(relay(open_stream, RecordingSink(), POLICY, first_token_timeout_s=5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [0]

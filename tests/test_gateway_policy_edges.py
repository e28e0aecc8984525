"""The edges of the gateway's retry and failure policy, one case each: what a mutation run of
failures.py, relay.py and retry_policy.py showed no test held (``make mutation``)."""

from __future__ import annotations

import email.utils
import logging
import math

import httpx2
import openai
import pytest
from test_gateway_relay import POLICY, RecordingSink, script

from harness.gateway.failures import (
    INTERNAL_ERROR,
    OPENAI_TIMEOUT,
    RATE_LIMIT,
    SERVER_ERROR,
    UPSTREAM_AUTH,
    UPSTREAM_DISCONNECTED,
    UPSTREAM_REJECTED,
    IncompleteStream,
    classify,
    code_for_status,
)
from harness.gateway.relay import CallResult, _classify, relay
from harness.gateway.retry_policy import RetryPolicy, next_retry, parse_retry_after, retry_delay, should_retry
from harness.gateway.settings import GatewaySettings
from harness.gateway.upstream import Piece

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
CAPPED = RetryPolicy(max_retries=2, initial_delay_s=0.5, max_delay_s=8.0, max_retry_after_s=20.0)


# --- failures.py -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, UPSTREAM_AUTH), (403, UPSTREAM_AUTH), (404, UPSTREAM_REJECTED), (409, SERVER_ERROR),
     (410, UPSTREAM_REJECTED), (408, OPENAI_TIMEOUT), (504, OPENAI_TIMEOUT), (502, SERVER_ERROR)],
)  # fmt: skip
def test_each_status_has_its_code(status, code):
    assert code_for_status(status) == code


def test_a_status_error_keeps_its_status_headers_and_message():
    response = httpx2.Response(429, headers={"retry-after-ms": "5"}, request=REQUEST)
    exc = openai.RateLimitError("Error code: 429 - slow down", response=response, body=None)
    failure = classify(exc)
    assert (failure.code, failure.status, failure.retryable) == (RATE_LIMIT, 429, True)
    assert failure.detail == "Error code: 429 - slow down"
    assert failure.headers["retry-after-ms"] == "5"


def test_timeouts_and_cut_connections_say_what_happened_in_detail():
    timeout = openai.APITimeoutError(request=REQUEST)
    assert classify(timeout).detail == repr(timeout) and classify(timeout).retryable is True
    cause = ConnectionResetError("peer reset")
    cut = openai.APIConnectionError(request=REQUEST)
    cut.__cause__ = cause
    assert classify(cut).detail == repr(cause)
    bare = openai.APIConnectionError(request=REQUEST)
    assert classify(bare).detail == repr(bare)
    incomplete = classify(IncompleteStream("no finish"))
    assert incomplete.code == UPSTREAM_DISCONNECTED and incomplete.retryable is True


def test_an_in_band_error_before_the_first_token_is_retryable():
    rate = openai.APIError("too fast", REQUEST, body={"code": "rate_limit_exceeded"})
    failure = classify(rate)
    assert (failure.code, failure.retryable, failure.detail) == (RATE_LIMIT, True, "too fast")
    odd = classify(openai.APIError("odd", REQUEST, body="not a mapping"))  # a body that is no dict
    assert (odd.code, odd.retryable) == (SERVER_ERROR, True)
    listed = classify(openai.APIError("listed", REQUEST, body=["code", "rate_limit_exceeded"]))
    assert listed.code == SERVER_ERROR


def test_anything_else_is_an_internal_error_never_retried():
    exc = ValueError("unexpected chunk")
    failure = classify(exc)
    assert (failure.code, failure.retryable, failure.detail) == (INTERNAL_ERROR, False, repr(exc))
    assert failure.message == "Something went wrong, please try again later."


# --- retry_policy.py ---------------------------------------------------------------------------


def test_the_policy_comes_from_the_settings_in_seconds():
    settings = GatewaySettings.from_env(
        {},
        jwt_secret="x" * 32,
        openai_base_url="http://127.0.0.1:1/v1",
        max_retries=3,
        retry_initial_ms=250,
        retry_max_delay_ms=4000,
        retry_after_max_ms=15000,
    )
    assert RetryPolicy.from_settings(settings) == RetryPolicy(3, 0.25, 4.0, 15.0)


def test_an_unusable_retry_after_ms_falls_back_to_retry_after():
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "-1", "retry-after": "3"}) == 3.0


def test_retry_after_zero_means_now_and_a_past_date_too():
    assert parse_retry_after({"retry-after": "0"}) == 0.0
    now = 1_700_000_000.0
    past = email.utils.formatdate(now - 60, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=lambda: now) == 0.0


def test_a_retry_after_exactly_at_the_cap_is_still_honoured():
    at_cap = {"retry-after-ms": "20000"}
    from harness.gateway.failures import Failure

    assert should_retry(Failure(RATE_LIMIT, retryable=True, headers=at_cap), CAPPED)
    assert retry_delay(0, CAPPED, at_cap) == 20.0
    over = {"retry-after-ms": "20001"}
    assert not should_retry(Failure(RATE_LIMIT, retryable=True, headers=over), CAPPED)


def test_backoff_exponent_stops_at_32():
    unbounded = RetryPolicy(max_retries=99, initial_delay_s=1.0, max_delay_s=math.inf)
    assert retry_delay(40, unbounded, rng=lambda: 0.0) == 2.0**32


def test_a_wait_exactly_as_long_as_the_time_left_is_not_taken():
    from harness.gateway.failures import Failure

    failure = Failure(RATE_LIMIT, retryable=True, headers={"retry-after": "1"})
    assert next_retry(failure, 0, CAPPED, token_sent=False, time_left_s=1.0) is None
    assert next_retry(failure, 0, CAPPED, token_sent=False, time_left_s=1.001) == 1.0


# --- relay.py ------------------------------------------------------------------------------------


def test_the_first_token_deadline_is_not_retried_but_a_later_timeout_is_classified():
    missed = _classify(TimeoutError(), CallResult(deltas=0))
    assert (missed.code, missed.retryable) == (OPENAI_TIMEOUT, False)
    assert missed.detail == "no first token before the deadline"
    later = _classify(TimeoutError(), CallResult(deltas=1))
    assert (later.code, later.retryable) == (OPENAI_TIMEOUT, True)


async def test_the_result_given_is_the_one_filled_in_with_times_and_counts():
    open_stream, _, _ = script(
        [0.05, Piece(text="a"), Piece(text="b"), Piece(text="c"), Piece(finish_reason="stop")]
    )
    given = CallResult()
    returned = await relay(open_stream, RecordingSink(), POLICY, 5.0, result=given)
    assert returned is given
    assert given.deltas == 3 and given.text == "abc"
    assert 40 <= given.ttft_ms <= 2000 and given.ttft_ms <= given.total_ms <= 5000


async def test_usage_without_prompt_tokens_reports_zero():
    open_stream, _, _ = script([Piece(text="x"), Piece(finish_reason="stop"), Piece(tokens_out=4)])
    sink = RecordingSink()
    await relay(open_stream, sink, POLICY, 5.0)
    assert ("usage", (0, 4)) in sink.events


async def test_a_retry_that_would_overrun_the_deadline_is_reported_at_once(caplog):
    caplog.set_level(logging.INFO, logger="harness.gateway")
    response = httpx2.Response(429, headers={"retry-after-ms": "500"}, request=REQUEST)
    slow_down = openai.RateLimitError("Error code: 429", response=response, body=None)
    open_stream, opened, _ = script([slow_down], [Piece(text="late"), Piece(finish_reason="stop")])
    sink = RecordingSink()
    result = await relay(open_stream, sink, POLICY, 0.2)
    assert opened == [0] and result.provider_retry_count == 0
    assert result.finish_reason == "error" and result.failure.code == RATE_LIMIT
    assert sink.events == [("error", RATE_LIMIT), ("done", ("error", 0))]
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line == "upstream failed: RATE_LIMIT after 0 retries (Error code: 429)"


async def test_each_retry_is_logged_with_its_number_code_reason_and_wait(caplog):
    caplog.set_level(logging.INFO, logger="harness.gateway")
    response = httpx2.Response(429, headers={"retry-after-ms": "30"}, request=REQUEST)
    slow_down = openai.RateLimitError("Error code: 429", response=response, body=None)
    open_stream, opened, _ = script([slow_down], [slow_down], [Piece(text="ok"), Piece(finish_reason="stop")])
    result = await relay(open_stream, RecordingSink(), POLICY, 5.0)
    assert opened == [0, 1, 2] and result.provider_retry_count == 2
    assert result.attempt_errors == [RATE_LIMIT, RATE_LIMIT]
    lines = [r.getMessage() for r in caplog.records if r.name == "harness.gateway"]
    assert lines == [
        "upstream attempt 1 failed with RATE_LIMIT (Error code: 429); retrying in 30 ms",
        "upstream attempt 2 failed with RATE_LIMIT (Error code: 429); retrying in 30 ms",
    ]


async def test_a_stream_without_a_finish_reason_says_so():
    open_stream, _, _ = script([Piece(text="x")], [Piece(text="x")], [Piece(text="x")])
    result = await relay(open_stream, RecordingSink(), POLICY, 5.0)
    assert result.failure.code == UPSTREAM_DISCONNECTED
    assert "ended without a finish_reason" in result.failure.detail

"""The gateway's retry policy, one decision at a time (like openai-python's ``_should_retry`` and
``_calculate_retry_timeout``), and the classification of upstream failures into seed 004's codes."""

from __future__ import annotations

import email.utils

import httpx2
import openai
import pytest

from harness.gateway.failures import (
    MESSAGES,
    OPENAI_TIMEOUT,
    RATE_LIMIT,
    SERVER_ERROR,
    UPSTREAM_AUTH,
    UPSTREAM_DISCONNECTED,
    UPSTREAM_REJECTED,
    Failure,
    IncompleteStream,
    classify,
)
from harness.gateway.retry_policy import RetryPolicy, next_retry, parse_retry_after, retry_delay, should_retry

POLICY = RetryPolicy(max_retries=2, initial_delay_s=0.5, max_delay_s=8.0, max_retry_after_s=20.0)
REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    cls = {
        429: openai.RateLimitError,
        500: openai.InternalServerError,
        401: openai.AuthenticationError,
        400: openai.BadRequestError,
    }.get(status, openai.APIStatusError)
    return cls(f"Error code: {status}", response=response, body=None)


# --- parse_retry_after -----------------------------------------------------------------------


def test_retry_after_ms_wins_over_retry_after():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25


def test_retry_after_seconds_and_fractions():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5


def test_retry_after_http_date():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=lambda: now) == pytest.approx(7, abs=1)


@pytest.mark.parametrize(
    "headers", [{}, {"retry-after": "soon"}, {"retry-after-ms": "-5"}, {"retry-after": "nan"}]
)
def test_retry_after_absent_or_unusable(headers):
    assert parse_retry_after(headers) is None


# --- should_retry ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses(status):
    assert should_retry(classify(status_error(status)), POLICY)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(status):
    assert not should_retry(classify(status_error(status)), POLICY)


def test_x_should_retry_overrides_the_status():
    assert not should_retry(classify(status_error(503, {"x-should-retry": "false"})), POLICY)
    assert should_retry(classify(status_error(400, {"x-should-retry": "true"})), POLICY)


def test_a_retry_after_longer_than_the_cap_is_not_retried():
    assert not should_retry(classify(status_error(429, {"retry-after": "60"})), POLICY)
    assert should_retry(classify(status_error(429, {"retry-after": "19"})), POLICY)


def test_connection_errors_and_timeouts_are_retried():
    assert should_retry(classify(openai.APIConnectionError(request=REQUEST)), POLICY)
    assert should_retry(classify(openai.APITimeoutError(request=REQUEST)), POLICY)
    assert should_retry(classify(IncompleteStream("no finish_reason")), POLICY)


# --- retry_delay -----------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped():
    no_jitter = lambda: 0.0  # noqa: E731
    assert [retry_delay(n, POLICY, rng=no_jitter) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_takes_off_at_most_a_quarter():
    assert retry_delay(1, POLICY, rng=lambda: 1.0) == 0.75
    assert retry_delay(1, POLICY, rng=lambda: 0.5) == 0.875


def test_server_directed_delay_is_honoured():
    assert retry_delay(0, POLICY, {"retry-after-ms": "200"}, rng=lambda: 0.0) == 0.2
    assert retry_delay(3, POLICY, {"retry-after": "2"}, rng=lambda: 0.0) == 2.0
    # zero, or over the cap: back to our own backoff
    assert retry_delay(0, POLICY, {"retry-after": "0"}, rng=lambda: 0.0) == 0.5
    assert retry_delay(0, POLICY, {"retry-after": "300"}, rng=lambda: 0.0) == 0.5


# --- next_retry: the whole decision -----------------------------------------------------------


def test_no_retry_once_a_token_was_sent():
    failure = classify(status_error(500))
    assert next_retry(failure, 0, POLICY, token_sent=True, time_left_s=30) is None
    assert next_retry(failure, 0, POLICY, token_sent=False, time_left_s=30, rng=lambda: 0.0) == 0.5


def test_budget_is_bounded():
    failure = classify(status_error(429))
    assert next_retry(failure, 1, POLICY, False, 30, rng=lambda: 0.0) == 1.0
    assert next_retry(failure, 2, POLICY, False, 30) is None
    assert next_retry(failure, 0, RetryPolicy(max_retries=0), False, 30) is None


def test_a_wait_past_the_first_token_deadline_is_not_taken():
    failure = classify(status_error(429, {"retry-after": "5"}))
    assert next_retry(failure, 0, POLICY, False, time_left_s=4.0) is None
    assert next_retry(failure, 0, POLICY, False, time_left_s=6.0) == 5.0


# --- classify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (status_error(429), RATE_LIMIT),
        (status_error(500), SERVER_ERROR),
        (status_error(503), SERVER_ERROR),
        (status_error(504), OPENAI_TIMEOUT),
        (status_error(408), OPENAI_TIMEOUT),
        (status_error(401), UPSTREAM_AUTH),
        (status_error(400), UPSTREAM_REJECTED),
        (openai.APITimeoutError(request=REQUEST), OPENAI_TIMEOUT),
        (openai.APIConnectionError(request=REQUEST), UPSTREAM_DISCONNECTED),
        (IncompleteStream("cut"), UPSTREAM_DISCONNECTED),
        (openai.APIError("overloaded", REQUEST, body={"code": "rate_limit_exceeded"}), RATE_LIMIT),
        (openai.APIError("boom", REQUEST, body={"code": "server_error"}), SERVER_ERROR),
    ],
)
def test_classify(exc, code):
    assert classify(exc).code == code


def test_friendly_messages_are_seed_004s():
    assert MESSAGES[RATE_LIMIT] == "Overloaded, please try again soon."
    assert MESSAGES[SERVER_ERROR] == "Server error, please try again later."
    assert MESSAGES[OPENAI_TIMEOUT] == "Request timed out. Please try again with a shorter message."
    assert Failure(UPSTREAM_DISCONNECTED).event() == {
        "code": UPSTREAM_DISCONNECTED,
        "message": MESSAGES[UPSTREAM_DISCONNECTED],
    }
    assert classify(ValueError("bug")).retryable is False

"""The failures of seed 004, replayed by the mock's scenarios through the gateway on real sockets.

Each test picks its scenario with the X-Mock-Scenario header (forwarded by the gateway) and its own
X-Mock-Session, so attempt counters are private to the test.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import auth, chat, gateway_events, read_stream

from harness.gateway.failures import MESSAGES
from harness.gateway.telemetry import reports
from harness.gateway.web_gateway import STORE
from harness.pytest_plugin import MockOpenAI
from mockserver.content import tokenize
from servekit.sse import SSEReader


async def test_429_then_recover(gateway_factory, mock_openai):
    gw = gateway_factory()
    answer = await chat(
        gw.url, {"message": "hi"}, auth(scenario="gateway-429-then-recover", session=mock_openai.session)
    )
    assert answer.names[-2:] == ["usage", "done"]
    assert answer.of("done")[0].data == {"finish_reason": "stop", "provider_retry_count": 1}
    assert answer.text == "Recovered after one rate-limited attempt, and every word arrived."
    assert "error" not in answer.names

    first, second = mock_openai.journal()
    assert (first["status"], first["retry_count"]) == (429, 0)
    assert (second["status"], second["retry_count"], second["ended"]) == (200, 1, "complete")
    assert second["received_at"] - first["received_at"] >= 0.05  # retry-after-ms: 50 was honoured

    [call] = gateway_events(gw, "openai_call")
    assert call["payload"]["provider_retry_count"] == 1
    assert call["payload"]["retried_errors"] == ["RATE_LIMIT"]
    assert gateway_events(gw, "error") == []


async def test_three_500s_end_in_server_error(gateway_factory, mock_openai):
    gw = gateway_factory()
    answer = await chat(
        gw.url, {"message": "hi"}, auth(scenario="gateway-three-500s", session=mock_openai.session)
    )
    assert answer.status == 200
    assert answer.names == ["error", "done"]
    assert answer.of("error")[0].data == {
        "code": "SERVER_ERROR",
        "message": "Server error, please try again later.",
    }
    assert answer.of("done")[0].data == {"finish_reason": "error", "provider_retry_count": 2}
    assert [e["status"] for e in mock_openai.journal()] == [500, 500, 500]
    [error] = gateway_events(gw, "error")
    assert (error["payload"]["code"], error["payload"]["after_first_token"]) == ("SERVER_ERROR", False)
    [call] = gateway_events(gw, "openai_call")
    assert (call["payload"]["provider_retry_count"], call["payload"]["outcome"]) == (2, "error")


async def test_drop_after_tokens_keeps_them_and_reports_the_disconnect(gateway, mock_openai):
    answer = await chat(
        gateway.url,
        {"message": "hi"},
        auth(scenario="gateway-drop-after-tokens", session=mock_openai.session),
    )
    assert answer.names == ["token", "token", "token", "error", "done"]
    assert answer.text == "".join(tokenize("One two three four five six seven eight.")[:3])
    assert answer.of("error")[0].data == {
        "code": "UPSTREAM_DISCONNECTED",
        "message": MESSAGES["UPSTREAM_DISCONNECTED"],
    }
    assert answer.of("done")[0].data["finish_reason"] == "error"
    [entry] = mock_openai.journal()  # after the first token: never retried
    assert entry["ended"] == "dropped"


async def test_in_band_error_event_after_tokens(gateway, mock_openai):
    answer = await chat(
        gateway.url,
        {"message": "hi"},
        auth(scenario="gateway-error-event-after-tokens", session=mock_openai.session),
    )
    assert answer.names == ["token", "token", "error", "done"]
    assert answer.text == "First second"
    assert answer.of("error")[0].data == {"code": "SERVER_ERROR", "message": MESSAGES["SERVER_ERROR"]}
    assert answer.of("done")[0].data == {"finish_reason": "error", "provider_retry_count": 0}
    assert len(mock_openai.journal()) == 1


async def test_stall_past_the_read_timeout(gateway_factory, mock_openai):
    gw = gateway_factory(read_timeout_ms=300)
    t0 = time.perf_counter()
    answer = await chat(
        gw.url, {"message": "hi"}, auth(scenario="gateway-stall-past-timeout", session=mock_openai.session)
    )
    elapsed = time.perf_counter() - t0
    assert answer.names == ["token", "token", "error", "done"]
    assert answer.of("error")[0].data == {
        "code": "OPENAI_TIMEOUT",
        "message": "Request timed out. Please try again with a shorter message.",
    }
    assert answer.of("done")[0].data == {"finish_reason": "error", "provider_retry_count": 0}
    assert 0.3 <= elapsed < 2.0  # the 3 s stall was cut by the 300 ms read timeout
    [error] = gateway_events(gw, "error")
    assert (error["payload"]["code"], error["payload"]["after_first_token"]) == ("OPENAI_TIMEOUT", True)


async def test_timeouts_before_the_first_token_are_retried_then_reported(gateway_factory, mock_openai):
    gw = gateway_factory(read_timeout_ms=200)
    answer = await chat(
        gw.url,
        {"message": "hi"},
        auth(scenario="gateway-stall-before-first-token", session=mock_openai.session),
    )
    assert answer.names == ["error", "done"]
    assert answer.of("error")[0].data["code"] == "OPENAI_TIMEOUT"
    assert answer.of("done")[0].data == {"finish_reason": "error", "provider_retry_count": 2}
    assert [e["retry_count"] for e in mock_openai.journal()] == [0, 1, 2]


async def test_client_disconnect_cancels_the_upstream_request_at_once(gateway_factory, mock_openai):
    gw = gateway_factory()
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            gw.url + "/api/v1/chat",
            json={"message": "tell me a long story"},
            headers=auth(scenario="gateway-slow-upstream", session=mock_openai.session),
        )
        seen = await read_stream(resp, time.perf_counter(), stop_after_tokens=3)
        resp.close()  # the user closed the tab
        closed_at = time.perf_counter()
        closed_wall = time.time()

    ended_at = None
    while time.perf_counter() - closed_at < 2.0:
        [entry] = mock_openai.journal()
        if entry["ended"] == "client_gone":
            ended_at = time.perf_counter()
            break
        await asyncio.sleep(0.005)
    assert len(seen.of("token")) == 3
    assert ended_at is not None, "the upstream request was never cancelled"
    assert ended_at - closed_at < 0.1
    last_write_wall = entry["received_at"] + entry["last_byte_ms"] / 1000
    assert last_write_wall - closed_wall < 0.1
    assert entry["events_sent"] < 42  # far from the whole 40-token stream
    [call] = gateway_events(gw, "openai_call")
    assert call["payload"]["outcome"] == "client_gone"
    assert call["payload"]["ttft_ms"] > 0 and call["payload"]["tokens_out"] >= 3  # the partial call is kept


async def test_heartbeats_arrive_on_time_before_the_first_token(gateway_factory, mock_openai):
    gw = gateway_factory(heartbeat_ms=100)
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        resp = await session.post(
            gw.url + "/api/v1/chat",
            json={"message": "hi"},
            headers=auth(scenario="gateway-slow-upstream", session=mock_openai.session),
        )
        answer = await read_stream(resp, started, stop_after_tokens=1)
        resp.close()
    first_token = answer.of("token")[0].at
    beats = [f for f in answer.comments if f.comment.startswith("heartbeat ") and f.at < first_token]
    assert len(beats) >= 4  # 500 ms to the first token, a beat every 100 ms
    connected = answer.comments[0]
    assert connected.comment == "Connected to chat stream"
    times = [connected.at] + [b.at for b in beats]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(0.05 <= g <= 0.25 for g in gaps), gaps
    for beat in beats:
        epoch_ms = int(beat.comment.split()[1])
        assert abs(epoch_ms - time.time() * 1000) < 5_000


async def test_100_concurrent_streams_through_a_brownout_all_end_with_done(
    gateway_factory, mock_openai_server
):
    """Seed 004's load target: 100 concurrent streams while 2 % of upstream calls get a 429; the
    retries absorb every one (error rate 0, retry rate under 5 %), all from telemetry SQL."""
    gw = gateway_factory()
    session = "gw-brownout-100"  # this test's own session; fixed so the seeded 429s are the same every run
    headers = auth(scenario="gateway-brownout-429", session=session)
    answers = await asyncio.gather(
        *(chat(gw.url, {"message": f"question {i % 5}"}, headers) for i in range(100))
    )
    assert [a.names[-1] for a in answers] == ["done"] * 100
    assert all(a.of("done")[0].data["finish_reason"] == "stop" for a in answers)
    assert all(len(a.of("token")) == 20 and a.of("usage") for a in answers)
    by_question: dict[str, set[str]] = {}
    for i, a in enumerate(answers):
        by_question.setdefault(f"question {i % 5}", set()).add(a.text)
    assert all(len(texts) == 1 for texts in by_question.values())  # same question, same answer

    entries = MockOpenAI(mock_openai_server, session).journal()
    rate_limited = sum(e["status"] == 429 for e in entries)
    retries = sum(a.of("done")[0].data["provider_retry_count"] for a in answers)
    assert rate_limited >= 1 and retries == rate_limited
    assert len(entries) == 100 + rate_limited
    [retry_rows, error_rows] = asyncio.run_coroutine_threadsafe(gw.app[STORE].run(reports), gw.loop).result(
        10
    )
    [(_hour, _avg, _max, with_retries, total)] = retry_rows.rows
    assert (with_retries, total) == (rate_limited, 100)
    assert with_retries / total < 0.05
    assert error_rows.rows == []


@pytest.mark.parametrize(
    "scenario",
    [
        "gateway-429-then-recover",
        "gateway-three-500s",
        "gateway-drop-after-tokens",
        "gateway-stall-past-timeout",
        "gateway-error-event-after-tokens",
        "gateway-stall-before-first-token",
    ],
)
async def test_every_stream_ends_with_done_and_never_a_traceback(gateway_factory, mock_openai, scenario):
    gw = gateway_factory(read_timeout_ms=300)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gw.url + "/api/v1/chat",
            json={"message": "hi"},
            headers=auth(scenario=scenario, session=mock_openai.session),
        ) as resp,
    ):
        body = await resp.read()
    raw = body.decode()
    assert SSEReader().feed(body)[-1].event == "done"
    assert "Traceback" not in raw and "Error code:" not in raw

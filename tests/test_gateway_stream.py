"""Seed 004's happy path over real sockets: headers flushed at once, the connected comment, tokens,
usage and done; the text is exactly what the upstream (the mock, read with the SDK) said."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import openai
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import auth, chat, gateway_events
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion

from harness.gateway.pricing import cost_usd
from harness.gateway.web_gateway import STORE
from mockserver.web_runner import MockServer
from servekit.sse import SSEReader

SEED_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


def _direct(mock: MockServer, message: str) -> ChatCompletion:
    """The same question asked of the mock directly with the SDK (the mock is deterministic), in a
    session of its own."""
    client = openai.OpenAI(base_url=mock.base_url, api_key="sk-test", max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": message}]
    )
    return ChatCompletion.model_validate(completion.model_dump())


async def test_stream_matches_seed_004(gateway, mock_openai):
    answer = await chat(gateway.url, {"message": "Hello, how are you?"}, auth(session=mock_openai.session))
    assert answer.status == 200
    for name, value in SEED_HEADERS.items():
        assert answer.headers[name] == value
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["X-Request-Id"].startswith("req_")

    assert answer.frames[0].comment == "Connected to chat stream"
    names = answer.names
    assert set(names[:-2]) == {"token"} and len(names) > 2
    assert names[-2:] == ["usage", "done"]
    assert answer.of("done")[0].data == {"finish_reason": "stop", "provider_retry_count": 0}

    direct = _direct(mock_openai.server, "Hello, how are you?")
    assert answer.text == direct.choices[0].message.content
    usage = answer.of("usage")[0].data
    expected = CompletionUsage.model_validate(direct.usage.model_dump())
    assert (usage["tokens_in"], usage["tokens_out"]) == (expected.prompt_tokens, expected.completion_tokens)
    assert usage["model"] == "gpt-4o-mini"
    assert usage["cost_usd"] == cost_usd("gpt-4o-mini", expected.prompt_tokens, expected.completion_tokens)

    [entry] = mock_openai.journal()
    assert (entry["endpoint"], entry["stream"], entry["ended"]) == ("chat.completions", True, "complete")
    assert entry["retry_count"] == 0


def test_seed_cost_example():
    # seed 004: {"tokens_in":5,"tokens_out":15,"cost_usd":0.00000975,"model":"gpt-4o-mini"}
    assert cost_usd("gpt-4o-mini", 5, 15) == 0.00000975
    assert cost_usd("gpt-4o-mini-2024-07-18", 5, 15) == 0.00000975
    assert cost_usd("some-local-model", 5, 15) is None


async def test_headers_and_connected_comment_arrive_before_the_upstream_answers(gateway_factory, mock_openai):
    """Early header flush: with a memory lookup that takes 300 ms, the client already holds the
    headers and the connected comment long before any token."""
    gw = gateway_factory(memory_timeout_ms=300)
    store = gw.app[STORE]
    original = store.recent_turns

    async def slow_turns(*args):
        await asyncio.sleep(1.0)
        return await original(*args)

    store.recent_turns = slow_turns  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()
        async with session.post(
            gw.url + "/api/v1/chat",
            headers=auth(session=mock_openai.session),
            json={"message": "hi", "useMemory": True, "sessionId": "session-20250101-000000-abcd"},
        ) as resp:
            headers_at = time.perf_counter() - t0
            first = await resp.content.readuntil(b"\n\n")
            first_at = time.perf_counter() - t0
            rest = await resp.content.read()
            done_at = time.perf_counter() - t0
    assert resp.headers["Content-Type"] == "text/event-stream"
    assert first == b": Connected to chat stream\n\n"
    assert headers_at < 0.2 and first_at < 0.2
    assert done_at >= 0.3  # the memory timeout, then the answer (without memory)
    assert SSEReader().feed(rest)[-1].event == "done"  # and nothing after it


async def test_request_id_is_echoed_and_logged_on_every_line(gateway, mock_openai, caplog):
    caplog.set_level(logging.INFO, logger="harness.gateway")
    answer = await chat(
        gateway.url, {"message": "trace me"}, auth(session=mock_openai.session, **{"X-Request-Id": "abc-123"})
    )
    assert answer.headers["X-Request-Id"] == "abc-123"
    mine = [r for r in caplog.records if getattr(r, "request_id", None) == "abc-123"]
    messages = [r.getMessage() for r in mine]
    # one line per request, saying who asked what and how it ended
    [line] = [m for m in messages if m.startswith("chat ")]
    assert line.startswith("chat completion finished: user=test-user session=None useMemory=False chars=8")
    assert "finish_reason=stop retries=0" in line

    caplog.clear()
    unsafe = await chat(gateway.url, {"message": ""}, auth(**{"X-Request-Id": "bad id\twith spaces"}))
    assert unsafe.headers["X-Request-Id"].startswith("req_")
    assert all(
        r.request_id == unsafe.headers["X-Request-Id"] for r in caplog.records if r.name == "harness.gateway"
    )
    assert any("invalid request" in r.getMessage() for r in caplog.records)


async def test_health_needs_no_token(gateway):
    async with aiohttp.ClientSession() as session, session.get(gateway.url + "/health") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "ok"
        assert resp.headers["X-Request-Id"]


async def test_unknown_route_is_json_404(gateway):
    async with aiohttp.ClientSession() as session, session.get(gateway.url + "/api/v1/nope") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


async def test_cors_for_listed_origins_only(gateway_factory):
    gw = gateway_factory(cors_origins="http://localhost:3001,https://admin.example.com")
    async with aiohttp.ClientSession() as session:
        preflight = {
            "Origin": "http://localhost:3001",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization,Content-Type",
        }
        async with session.options(gw.url + "/api/v1/chat", headers=preflight) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3001"
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        async with session.options(
            gw.url + "/api/v1/chat", headers={**preflight, "Origin": "https://evil.example"}
        ) as resp:
            assert resp.status == 403
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with session.post(
            gw.url + "/api/v1/chat",
            json={"message": "hi"},
            headers={**auth(), "Origin": "https://admin.example.com"},
        ) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
            assert resp.headers["Vary"] == "Origin"
            await resp.read()
        async with session.post(
            gw.url + "/api/v1/chat",
            json={"message": ""},
            headers={**auth(), "Origin": "https://evil.example"},
        ) as resp:
            assert resp.status == 400
            assert "Access-Control-Allow-Origin" not in resp.headers


async def test_telemetry_row_per_call(gateway_factory, mock_openai):
    gw = gateway_factory()
    answer = await chat(gw.url, {"message": "count me"}, auth(sub="user-7", session=mock_openai.session))
    [row] = gateway_events(gw, "openai_call")
    payload = row["payload"]
    usage = answer.of("usage")[0].data
    assert payload["request_id"] == answer.headers["X-Request-Id"]
    assert payload["user"] == "user-7"
    assert payload["provider_retry_count"] == 0
    assert payload["outcome"] == "complete" and payload["finish_reason"] == "stop"
    assert (payload["tokens_in"], payload["tokens_out"]) == (usage["tokens_in"], usage["tokens_out"])
    assert 0 < payload["ttft_ms"] <= payload["total_ms"]
    assert gateway_events(gw, "error") == []

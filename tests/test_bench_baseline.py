"""The throughput baseline is a fair one: a valid chat stream with as many frames as the mock sends,
and the benchmark client measures real streams from the mock the way the load runs do."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from harness.bench import bare_relay, bare_sse
from harness.bench.stream_client import count_stream, measure_stream, new_session
from harness.bench.suites import gateway_chat, mock_chat
from mockserver.config import MockConfig
from mockserver.web_runner import MockServer
from servekit.sse import SSEReader


@pytest.fixture(scope="module")
def bare_server():
    with MockServer(MockConfig(port=0), app=bare_sse.create_app()) as server:
        yield server


def test_baseline_frames_are_chat_completion_chunks_the_sdk_accepts():
    frames = bare_sse.chunks("gpt-4o-mini")
    assert frames[-1] == b"data: [DONE]\n\n"
    # each item is one whole frame: the SSE reader reads exactly one event out of it
    events = [event for f in frames[:-1] for event in SSEReader().feed(f)]
    assert len(events) == len(frames) - 1
    chunks = [ChatCompletionChunk.model_validate(json.loads(e.data)) for e in events]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip().startswith("word0")
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_the_sdk_streams_from_the_baseline(bare_server):
    client = openai.AsyncOpenAI(base_url=bare_server.base_url, api_key="sk-bench", max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) == bare_sse.TOKENS
    await client.close()


async def test_baseline_and_mock_send_the_same_number_of_frames(bare_server, mock_openai_server):
    async with new_session() as session:
        mock_done, mock_frames = await count_stream(session, mock_chat(mock_openai_server.url, None))
        bare_done, bare_frames = await count_stream(session, mock_chat(bare_server.url, None))
    assert mock_done and bare_done
    assert mock_frames == bare_frames == bare_sse.TOKENS + 3  # role, tokens, finish, [DONE]


async def test_bench_client_measures_a_mock_stream_like_the_load_client(mock_openai_server):
    async with new_session() as session:
        outcome = await measure_stream(session, mock_chat(mock_openai_server.url, None))
    assert outcome.ok and outcome.status == 200
    assert outcome.tokens == 20 and len(outcome.gaps_ms) == 19
    assert 0 < outcome.ttft_ms <= outcome.total_ms


async def test_bench_client_reports_an_unknown_scenario_as_an_http_failure(mock_openai_server):
    async with new_session() as session:
        outcome = await measure_stream(session, mock_chat(mock_openai_server.url, "no-such-scenario"))
    assert not outcome.ok and outcome.failure == "http_error: HTTP 400" and outcome.status == 400


@pytest.fixture(scope="module")
def relay_server(mock_openai_server):
    with MockServer(MockConfig(port=0), app=bare_relay.create_app(mock_openai_server.base_url)) as server:
        yield server


async def test_the_bare_relay_streams_what_the_gateway_streams(relay_server):
    """The relay's events are the gateway's (token, usage, done), so one client measures both."""
    async with new_session() as session:
        outcome = await measure_stream(session, gateway_chat(relay_server.url, "unused", None))
        async with session.post(f"{relay_server.url}/api/v1/chat", json={"message": "hi"}) as resp:
            frames = SSEReader().feed(await resp.read())
    assert outcome.ok and outcome.tokens == 20 and outcome.finish_reason == "stop"
    usage = [json.loads(f.data) for f in frames if f.event == "usage"]
    assert len(usage) == 1 and usage[0]["tokens_out"] == 20
    assert [f.event for f in frames][-1] == "done"

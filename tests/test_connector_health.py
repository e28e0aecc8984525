"""OpenAI-compatible health check (seed 001): a verdict per step, and the specific message for
each failure mode: connection refused, 401, 404, a non-SSE reply, an empty stream."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from harness.cli import main as harness_main
from harness.connectors.health import (
    CONNECT_FAILED,
    FAIL,
    INVALID_KEY,
    INVALID_STREAM,
    NO_STREAM_DATA,
    NOT_FOUND,
    PASS,
    STREAM_CUT,
    check_openai_compatible,
    check_sse_lines,
)

KEY = "sk-health-good-key"


@pytest.fixture(scope="module")
def keyed_mock(mock_openai_server_factory):
    return mock_openai_server_factory(api_keys=[KEY])


def verdicts(report) -> dict[str, str]:
    return {s.step: s.verdict for s in report.steps}


async def test_a_healthy_endpoint_passes_all_three_steps(keyed_mock):
    report = await check_openai_compatible(keyed_mock.base_url, KEY)
    assert verdicts(report) == {"models": PASS, "chat": PASS, "chat_stream": PASS}
    assert report.ok and report.model == report.models[0]
    assert "HEALTHY" in report.format()


async def test_the_given_model_is_used_and_never_switched(keyed_mock):
    report = await check_openai_compatible(keyed_mock.base_url, KEY, model="gpt-4o-mini")
    assert report.ok and report.model == "gpt-4o-mini"
    failing = await check_openai_compatible(keyed_mock.base_url, KEY, model="no-such-model")
    assert verdicts(failing) == {"models": PASS, "chat": FAIL, "chat_stream": FAIL}
    assert failing.model == "no-such-model"
    assert "Model 'no-such-model' not found" in failing.step("chat").message
    assert "never switched" in failing.step("chat_stream").message


async def test_connection_refused(unused_tcp_port):
    report = await check_openai_compatible(f"http://127.0.0.1:{unused_tcp_port}/v1", KEY, model="gpt-4o")
    assert not report.ok
    assert {s.message for s in report.steps} == {CONNECT_FAILED}
    assert CONNECT_FAILED == (
        "Failed to connect to OpenAI compatible endpoint. Please check your API URL and network connection."
    )


async def test_wrong_api_key_is_401(keyed_mock):
    report = await check_openai_compatible(keyed_mock.base_url, "sk-wrong-key-0000", model="gpt-4o")
    assert {s.message for s in report.steps} == {INVALID_KEY}
    assert INVALID_KEY == "Invalid API key for OpenAI compatible endpoint. Please check your credentials."
    assert report.step("models").detail == "Connection failed: 401"


async def test_base_url_without_v1_is_404(keyed_mock):
    report = await check_openai_compatible(keyed_mock.url, KEY, model="gpt-4o")
    assert verdicts(report) == {"models": FAIL, "chat": FAIL, "chat_stream": FAIL}
    assert (
        report.step("models").message
        == NOT_FOUND
        == ("OpenAI compatible endpoint not found. Please verify your base URL.")
    )
    assert report.step("models").detail == "Connection failed: 404"


def fake_endpoint(stream_handler) -> web.Application:
    """An OpenAI-compatible server whose /models and plain chat are fine; the stream is not."""

    async def models(request):
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": "local-model", "object": "model", "created": 0, "owned_by": "me"}],
            }
        )

    async def chat(request):
        body = await request.json()
        if body.get("stream"):
            return await stream_handler(request)
        return web.json_response(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "OK"}}
                ],
            }
        )

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def json_instead_of_sse(request):
    return web.json_response({"id": "c1", "object": "chat.completion", "choices": []})


async def empty_event_stream(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    await resp.write(b": keep-alive\n\n")
    return resp


async def stream_without_done(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "local-model",
        "choices": [{"index": 0, "delta": {"content": "OK"}, "finish_reason": None}],
    }
    await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
    return resp


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (json_instead_of_sse, INVALID_STREAM),
        (empty_event_stream, NO_STREAM_DATA),
        (stream_without_done, STREAM_CUT),
    ],
)
async def test_stream_failures_fail_only_the_streaming_step(aiohttp_server, handler, message):
    server = await aiohttp_server(fake_endpoint(handler), host="127.0.0.1")
    report = await check_openai_compatible(str(server.make_url("/v1")), KEY)
    assert report.model == "local-model"
    assert verdicts(report) == {"models": PASS, "chat": PASS, "chat_stream": FAIL}
    assert report.step("chat_stream").message == message


@pytest.mark.parametrize(
    ("content_type", "lines", "expected"),
    [
        ("text/event-stream", ['data: {"choices": []}', "", "data: [DONE]"], None),
        ("text/event-stream", ["hello"], INVALID_STREAM),
        ("text/event-stream", ["id: 1", "retry: 100", 'data: {"choices": []}', "", "data: [DONE]", ""], None),
        ("text/event-stream", ['data: {"choices": []}', "", "data: [DONE", ""], INVALID_STREAM),
        ("text/event-stream", ['data: {"choices": []}', ""], STREAM_CUT),
        ("text/event-stream", ["data: not json", "data: [DONE]"], INVALID_STREAM),
        ("text/event-stream", [": ping", ""], NO_STREAM_DATA),
        ("application/json", [], INVALID_STREAM),
    ],
)
def test_sse_judgement(content_type, lines, expected):
    result = check_sse_lines(content_type, lines)
    assert (result[0] if result else None) == expected


def test_cli_prints_verdicts_and_exits_zero_when_healthy(keyed_mock, capsys):
    code = harness_main(["health", "--base-url", keyed_mock.base_url, "--api-key", KEY, "--model", "gpt-4o"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS  models" in out and "PASS  chat_stream" in out and out.rstrip().endswith("HEALTHY")


def test_cli_exits_non_zero_with_the_specific_message(keyed_mock, capsys):
    code = harness_main(["health", "--base-url", keyed_mock.base_url, "--api-key", "sk-nope-nope-nope"])
    out = capsys.readouterr().out
    assert code == 1
    assert INVALID_KEY in out and "Connection failed: 401" in out and "UNHEALTHY" in out

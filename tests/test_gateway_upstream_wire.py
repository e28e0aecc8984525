"""The gateway's upstream request is the official SDK's, byte for byte where it matters: the same
URL, the same headers (``user-agent``, ``x-stainless-*``, auth), the same JSON body, and the
status errors of the SDK's own types - while the bytes go over aiohttp, not the SDK's stack."""

from __future__ import annotations

import asyncio

import aiohttp
import openai
import pytest
from aiohttp import web

from harness.gateway.settings import GatewaySettings
from harness.gateway.upstream import (
    RETRY_COUNT_HEADER,
    Upstream,
    UpstreamCall,
    make_client,
    open_chat_stream,
)

SECRET = "x" * 32
CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)
# set per connection by each HTTP library (and compared separately below)
TRANSPORT_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


@pytest.fixture
async def recorder(aiohttp_server):
    """An upstream that records each request and answers with a short chat stream, or with the
    status of an ``X-Answer-Status`` header and an OpenAI error body."""
    seen: list[tuple[list[tuple[str, str]], bytes, str]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = [(k.decode(), v.decode()) for k, v in request.raw_headers]
        seen.append((headers, await request.read(), request.path_qs))
        if "X-Answer-Status" in request.headers:
            body = {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
            return web.json_response(
                body, status=int(request.headers["X-Answer-Status"]), headers={"retry-after-ms": "250"}
            )
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(CHUNK)
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    server = await aiohttp_server(app)
    return server, seen


def settings_for(server) -> GatewaySettings:
    return GatewaySettings.from_env(
        {}, openai_base_url=str(server.make_url("/v1")), jwt_secret=SECRET, telemetry_db=":memory:"
    )


MESSAGES = [{"role": "user", "content": 'héllo \u2603 "quoted"'}]


async def test_the_gateway_sends_what_the_sdk_sends(recorder):
    server, seen = recorder
    settings = settings_for(server)
    sdk = make_client(settings)
    async with sdk.chat.completions.with_streaming_response.create(
        model=settings.model,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Mock-Session": "s-1", RETRY_COUNT_HEADER: "1"},
    ) as response:
        await response.read()
    await sdk.close()

    upstream = await Upstream.start(settings)
    try:
        call = UpstreamCall(model=settings.model, messages=MESSAGES, headers={"X-Mock-Session": "s-1"})
        pieces = [p async for p in open_chat_stream(upstream, call, 1)]
    finally:
        await upstream.close()
    assert "".join(p.text for p in pieces) == "hi" and pieces[-1].finish_reason == "stop"

    (sdk_headers, sdk_body, sdk_path), (gw_headers, gw_body, gw_path) = seen
    assert gw_path == sdk_path == "/v1/chat/completions"
    assert gw_body == sdk_body  # compact UTF-8 JSON, same keys in the same order

    def semantic(headers):
        return {k.lower(): v for k, v in headers if k.lower() not in TRANSPORT_HEADERS}

    assert semantic(gw_headers) == semantic(sdk_headers)
    assert semantic(gw_headers)["x-stainless-retry-count"] == "1"
    assert semantic(gw_headers)["authorization"] == f"Bearer {settings.api_key}"
    assert semantic(gw_headers)["user-agent"] == f"AsyncOpenAI/Python {openai.__version__}"
    # the header names go out spelled as the SDK spells them
    assert [k for k, _ in gw_headers if k.lower() not in TRANSPORT_HEADERS] == [
        k for k, _ in sdk_headers if k.lower() not in TRANSPORT_HEADERS
    ]
    assert dict((k.lower(), v) for k, v in gw_headers)["content-length"] == str(len(sdk_body))


async def test_a_status_error_is_the_sdks_own_exception(recorder):
    server, _ = recorder
    upstream = await Upstream.start(settings_for(server))
    try:
        call = UpstreamCall(model="gpt-4o-mini", messages=MESSAGES, headers={"X-Answer-Status": "429"})
        with pytest.raises(openai.RateLimitError) as caught:
            [p async for p in open_chat_stream(upstream, call, 0)]
    finally:
        await upstream.close()
    err = caught.value
    assert err.status_code == 429
    assert str(err) == "Error code: 429 - Rate limit reached"
    assert err.body["code"] == "rate_limit_exceeded"
    assert err.response.headers["retry-after-ms"] == "250"


async def test_a_refused_connection_is_the_sdks_connection_error(unused_tcp_port):
    settings = GatewaySettings.from_env(
        {},
        openai_base_url=f"http://127.0.0.1:{unused_tcp_port}/v1",
        jwt_secret=SECRET,
        telemetry_db=":memory:",
    )
    upstream = await Upstream.start(settings)
    try:
        with pytest.raises(openai.APIConnectionError) as caught:
            [p async for p in open_chat_stream(upstream, UpstreamCall("gpt-4o-mini", MESSAGES), 0)]
    finally:
        await upstream.close()
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectionError)


@pytest.mark.parametrize(("pool", "kept"), [(2, 2), (50, 5)])
async def test_idle_connections_beyond_the_keep_alive_pool_are_closed(recorder, pool, kept):
    server, seen = recorder
    settings = GatewaySettings.from_env(
        {}, **{**settings_for(server).__dict__, "keepalive_connections": pool}
    )
    upstream = await Upstream.start(settings)
    try:

        async def one() -> str:
            call = UpstreamCall(model="gpt-4o-mini", messages=MESSAGES)
            return "".join([p.text async for p in open_chat_stream(upstream, call, 0)])

        assert await asyncio.gather(*(one() for _ in range(5))) == ["hi"] * 5
        assert upstream.session.connector.idle() == kept  # five were open at once
        assert await one() == "hi"  # and one of the kept ones is reused
        assert upstream.session.connector.idle() == kept
    finally:
        await upstream.close()
    assert len(seen) == 6

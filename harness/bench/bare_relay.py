"""The CPU baseline of a relay: the least any Python relay does for a gateway chat stream.

``POST /api/v1/chat`` opens an aiohttp client stream to the upstream's ``/chat/completions``
(``stream``, ``include_usage``), reads its SSE lines and writes ``event: token`` / ``usage`` /
``done`` frames to the client. No auth, validation, retries, heartbeats or telemetry: what the
reference gateway costs above this is the price of its features. ``python -m
harness.bench.bare_relay --port N --upstream URL/v1`` serves it; ``GET /health`` says it is up.
"""

from __future__ import annotations

import argparse

import aiohttp
import orjson
from aiohttp import web

from servekit.runtime import new_event_loop, settle_heap

FORWARD = ("X-Mock-Scenario", "X-Mock-Session")  # as the gateway does, so a bench selects scenarios
URL = web.AppKey("url", str)
SESSION = web.AppKey("session", aiohttp.ClientSession)


async def chat(request: web.Request) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    upstream = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": body["message"]}],
    }
    headers = {"Authorization": "Bearer sk-relay", "Content-Type": "application/json"}
    headers |= {h: request.headers[h] for h in FORWARD if h in request.headers}
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    finish = None
    async with request.app[SESSION].post(
        request.app[URL], data=orjson.dumps(upstream), headers=headers
    ) as up:
        # the least a relay can do, on purpose: bare data lines, not the project's SSEReader
        async for line in up.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunk = orjson.loads(line[6:])
            for choice in chunk.get("choices") or ():
                if text := (choice.get("delta") or {}).get("content"):
                    await resp.write(b"event: token\ndata: " + orjson.dumps({"text": text}) + b"\n\n")
                finish = choice.get("finish_reason") or finish
            if usage := chunk.get("usage"):
                data = {"tokens_in": usage["prompt_tokens"], "tokens_out": usage["completion_tokens"]}
                await resp.write(b"event: usage\ndata: " + orjson.dumps(data) + b"\n\n")
    await resp.write(b"event: done\ndata: " + orjson.dumps({"finish_reason": finish}) + b"\n\n")
    await resp.write_eof()
    return resp


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(upstream: str) -> web.Application:
    app = web.Application()
    app[URL] = upstream.rstrip("/") + "/chat/completions"

    async def pool(app: web.Application):  # one keep-alive pool, as any relay keeps
        app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(pool)
    app.router.add_post("/api/v1/chat", chat)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="bare aiohttp relay: the CPU baseline for the gateway")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="the upstream's base URL, ending in /v1")
    args = p.parse_args(argv)
    settle_heap()  # as the gateway's server does
    web.run_app(
        create_app(args.upstream),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=new_event_loop(),  # the gateway's loop (uvloop when installed): like for like
    )


if __name__ == "__main__":
    main()

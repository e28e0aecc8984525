"""The throughput baseline: a bare aiohttp SSE handler that streams a zero-delay chat completion.

It answers ``POST /v1/chat/completions`` with the same frames the mock sends for a plain
zero-delay stream (a role chunk, one chunk per token, a finish chunk, ``[DONE]``) and does
nothing else: no validation, no scenarios, no journal. ``python -m harness.bench.bare_sse
--port N`` serves it; ``GET /health`` says it is up.
"""

from __future__ import annotations

import argparse
import json
import time

from aiohttp import web

from servekit.runtime import new_event_loop, settle_heap

TOKENS = 20


def chunks(model: str, tokens: int = TOKENS) -> list[bytes]:
    """The SSE frames of one stream, built per request as a plain handler would."""
    cid, created = "chatcmpl-bare", int(time.time())

    def frame(delta: dict, finish: str | None = None) -> bytes:
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_bare",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    out = [frame({"role": "assistant", "content": "", "refusal": None})]
    out += [frame({"content": f" word{i}"}) for i in range(tokens)]
    out.append(frame({}, "stop"))
    out.append(b"data: [DONE]\n\n")
    return out


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for data in chunks(body.get("model", "gpt-4o-mini")):
        await resp.write(data)
    await resp.write_eof()
    return resp


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="bare aiohttp SSE baseline for the throughput benchmark")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    settle_heap()  # as the mock's server does
    # the same event loop as the mock's server (uvloop when installed): a like-for-like baseline
    web.run_app(
        create_app(), host=args.host, port=args.port, access_log=None, print=None, loop=new_event_loop()
    )


if __name__ == "__main__":
    main()

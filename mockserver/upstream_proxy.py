"""``mockopenai serve --upstream URL``: the mock in front of a real upstream, breaking its live
answers on purpose.

A request that selects a scenario (``X-Mock-Scenario``, the ``/s/<name>/v1`` prefix or
``--scenario``) gets that scenario's step as usual (attempts per session, probability, window);
its faults then apply to the upstream's LIVE answer:

* ``http_error``, ``html_error``, ``hang``, a ``rate_limit`` that refuses, ``reset`` before any
  byte: the mock answers and the upstream is not called;
* on a stream, every other fault as the events arrive (:mod:`mockserver.live_faults`); a cut
  (``drop``, ``truncate``, ``reset``) closes the upstream request too, so the upstream sees its
  client go;
* on a JSON body, the faults act on the whole body once it came, as on the mock's own;
* an error the upstream answers itself (4xx, 5xx) reaches the client as it came: it already is
  the failure, and a ``drop`` meant for a stream's events would only hide it.

A request with no scenario (or one whose faults do not fire) passes through untouched, chunk by
chunk. The journal records both sides: the usual entry is what the client got, its ``upstream``
field what came from the upstream (status, frames and their types, how it ended, or why it
failed). An upstream that cannot be reached gives a 502, as a relay would, and the journal says
the upstream side failed; a client that goes away cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
from aiohttp import web

from . import live_faults as L
from .api import chat, responses
from .app_keys import CTX, DELIVERY, ENGINE, STATE
from .clock import Clock
from .context import RequestContext
from .delivery import CLIENT_GONE, close_transport, record_bytes, record_event
from .endpoints import CHAT_COMPLETIONS, RESPONSES
from .record.exchange import FrameSplitter
from .replay import frame_event
from .reply import COMPLETE, DROPPED, GENERIC, RESET, Reply, Vocabulary
from .scenario.engine import Step
from .upstream import (
    CUT,
    UpstreamURL,
    api_path,
    bad_gateway,
    forwarded_headers,
    is_reset,
    request_facts,
    returned_headers,
    upstream_client,
)
from .web_handling import plan

CLIENT_KEY = "upstream_client"
URL_KEY = "upstream_url"
# the mock's own headers, which select and pace the mock: they stop here
CONSUMED = frozenset(("x-mock-scenario", "x-mock-time-scale"))
VOCABULARIES: dict[str, Vocabulary] = {CHAT_COMPLETIONS: chat.VOCABULARY, RESPONSES: responses.VOCABULARY}


def add_upstream_routes(app: web.Application, base: str) -> None:
    """Route every ``/v1`` request (and ``/s/<scenario>/v1``) to ``base``."""
    app[STATE][URL_KEY] = UpstreamURL(base)

    async def open_client(app: web.Application) -> None:
        app[STATE][CLIENT_KEY] = upstream_client()

    async def close_client(app: web.Application) -> None:
        client = app[STATE].get(CLIENT_KEY)
        if client is not None:
            await client.close()

    app.on_startup.append(open_client)
    app.on_cleanup.append(close_client)
    for prefix in ("/v1", "/s/{scenario}/v1"):
        app.router.add_route("*", prefix + "/{tail:.*}", handle)
        app.router.add_route("*", prefix, handle)


def _upstream_failed(ctx: RequestContext, url: str, exc: BaseException) -> web.Response:
    reason, response = bad_gateway(exc)
    ctx.entry.upstream = {"url": url, "ended": "unreachable", "error": reason}
    ctx.entry.status, ctx.entry.ended = 502, COMPLETE
    return response


async def handle(request: web.Request) -> web.StreamResponse:
    app = request.app
    ctx: RequestContext = request[CTX]
    body = await request.read()
    facts = request_facts(request.method, request.path, request.content_type, body)
    step = plan(request, facts.endpoint or "other", facts.stream, facts.model)
    vocabulary = VOCABULARIES.get(facts.endpoint or "", GENERIC)
    before = [f for f in step.faults if L.before_upstream(f)]
    if before:
        reply = app[ENGINE].apply(
            Step(step.attempt, step.response, before, step.context), _placeholder(facts, vocabulary), ctx
        )
        if reply.status != 200 or reply.hangs or reply.ending == RESET:
            ctx.entry.upstream = {"called": False}
            return await app[DELIVERY].deliver(request, reply, ctx, {})
    live = [f for f in step.faults if not L.before_upstream(f)]
    upstream = app[STATE][URL_KEY]
    url = upstream.url_for(request)
    shown = str(upstream) + api_path(request.path)  # no user:password@ in the journal
    side: dict[str, Any] = {"url": shown, "status": None, "frames": 0, "frame_types": [], "ended": None}
    ctx.entry.upstream = side
    try:
        async with app[STATE][CLIENT_KEY].request(
            request.method,
            url,
            headers=forwarded_headers(request, drop=CONSUMED),
            data=body if body else None,
            allow_redirects=False,
        ) as up:
            side["status"] = up.status
            headers = returned_headers(up.headers)
            sse = (up.content_type or "").startswith("text/event-stream")
            if up.status >= 400:  # the upstream's own failure: the client gets it as it came
                live = []
            try:
                if live and sse:
                    return await _live_stream(request, ctx, up, headers, live, step, vocabulary, side)
                if live:
                    return await _body_with_faults(request, ctx, up, headers, live, step, vocabulary, side)
                return await _pass_through(request, ctx, up, headers, sse, side)
            finally:
                if side["ended"] is None:
                    side["ended"] = (
                        "cancelled"  # the answer was cut (a fault, or the client went): so was the upstream
                    )
    except (aiohttp.ClientError, TimeoutError) as exc:
        # unreachable, or not speaking HTTP (a bad status line, broken headers): a relay's 502
        if side["status"] is not None:
            raise
        return _upstream_failed(ctx, shown, exc)


def _placeholder(facts: Any, vocabulary: Vocabulary) -> Reply:
    return Reply(model=facts.model, vocabulary=vocabulary, events=[] if facts.stream else None)


async def _frames(up: aiohttp.ClientResponse, side: dict[str, Any]) -> L.Source:
    """The upstream's SSE frames as events, as they arrive; then how it ended."""
    splitter = FrameSplitter(Clock.monotonic())

    def take() -> list:
        out = splitter.frames
        splitter.frames = []
        for frame in out:
            ev = frame_event(frame)
            side["frames"] += 1
            side["frame_types"].append(ev.type)
            yield ev

    try:
        async for chunk in up.content.iter_any():
            splitter.feed(chunk, Clock.monotonic())
            for ev in take():
                yield ev
    except CUT as exc:
        splitter.close(Clock.monotonic())
        for ev in take():
            yield ev
        how = RESET if is_reset(exc) else DROPPED
        side["ended"] = how
        yield L.Cut(how)
        return
    splitter.close(Clock.monotonic())
    for ev in take():
        yield ev
    side["ended"] = COMPLETE


async def _live_stream(
    request: web.Request,
    ctx: RequestContext,
    up: aiohttp.ClientResponse,
    headers: dict[str, str],
    faults: list,
    step: Step,
    vocabulary: Vocabulary,
    side: dict[str, Any],
) -> web.StreamResponse:
    entry = ctx.entry
    clock = ctx.clock or request.app[DELIVERY].clock
    fc = step.context
    live = L.Live(clock=clock, t0=ctx.t0, vocabulary=vocabulary, rng=fc.rng if fc else random.Random(0))
    items = L.apply(_frames(up, side), faults, live)
    entry.status = up.status
    entry.faults = [f.name for f in faults]
    resp = web.StreamResponse(status=up.status, reason=up.reason, headers=headers)
    delivery = request.app[DELIVERY]
    queue: asyncio.Queue = asyncio.Queue()
    end = object()

    async def pump() -> None:
        try:
            async for item in items:
                await queue.put(item)
        finally:
            await queue.put(end)

    task = asyncio.ensure_future(pump())
    try:
        delivery.reveal(entry)
        await resp.prepare(request)
        entry.first_byte_ms = (Clock.monotonic() - ctx.t0) * 1000.0
        ending = COMPLETE
        while True:
            hb = live.heartbeat_ms
            try:
                item = await asyncio.wait_for(queue.get(), clock.seconds(hb) if hb else None)
            except TimeoutError:
                data = f": {live.heartbeat_text}\n\n".encode()
                await resp.write(data)
                record_bytes(ctx, len(data))
                continue
            if item is end:
                break
            if isinstance(item, L.Cut):
                ending = item.ending
                break
            data = item.encode()
            if not data:
                continue
            await resp.write(data)
            record_event(entry, record_bytes(ctx, len(data)), item.content, item.type)
        if ending == COMPLETE:
            entry.ended = "stalled" if live.stalled else COMPLETE
            delivery.publish(entry)
            await resp.write_eof()
        else:
            entry.ended = ending
            delivery.publish(entry)
            close_transport(request, reset=ending == RESET)
        return resp
    except (asyncio.CancelledError, ConnectionResetError):
        entry.ended = CLIENT_GONE
        raise
    finally:
        task.cancel()


async def _body_with_faults(
    request: web.Request,
    ctx: RequestContext,
    up: aiohttp.ClientResponse,
    headers: dict[str, str],
    faults: list,
    step: Step,
    vocabulary: Vocabulary,
    side: dict[str, Any],
) -> web.StreamResponse:
    try:
        data = await up.read()
    except CUT as exc:
        # cut before the body was whole: nothing for the faults to work on; the client is cut too
        how = RESET if is_reset(exc) else DROPPED
        side["ended"] = ctx.entry.ended = how
        ctx.entry.status = up.status
        close_transport(request, reset=how == RESET)
        return web.Response(status=up.status)
    side["ended"], side["bytes"] = COMPLETE, len(data)
    content_type = (up.content_type or "application/octet-stream").split(";")[0]
    reply = Reply(
        status=up.status, headers=headers, body=data, content_type=content_type, vocabulary=vocabulary
    )
    reply = request.app[ENGINE].apply(Step(step.attempt, step.response, faults, step.context), reply, ctx)
    return await request.app[DELIVERY].deliver(request, reply, ctx, {})


async def _pass_through(
    request: web.Request,
    ctx: RequestContext,
    up: aiohttp.ClientResponse,
    headers: dict[str, str],
    sse: bool,
    side: dict[str, Any],
) -> web.StreamResponse:
    """Untouched: each chunk as it arrives (frames journalled on both sides for a stream)."""
    entry = ctx.entry
    entry.status = up.status
    resp = web.StreamResponse(status=up.status, reason=up.reason, headers=headers)
    if up.content_length is not None and not sse:
        resp.content_length = up.content_length
    await resp.prepare(request)
    entry.first_byte_ms = (Clock.monotonic() - ctx.t0) * 1000.0
    splitter = FrameSplitter(Clock.monotonic()) if sse else None
    try:
        try:
            async for chunk in up.content.iter_any():
                await resp.write(chunk)
                now_ms = record_bytes(ctx, len(chunk))
                if splitter is not None:
                    splitter.feed(chunk, Clock.monotonic())
                    for frame in splitter.frames:
                        ev = frame_event(frame)
                        side["frames"] += 1
                        side["frame_types"].append(ev.type)
                        record_event(entry, now_ms, ev.content, ev.type)
                    splitter.frames = []
        except CUT as exc:
            how = RESET if is_reset(exc) else DROPPED
            side["ended"] = entry.ended = how
            close_transport(request, reset=how == RESET)
            return resp
        side["ended"] = entry.ended = COMPLETE
        request.app[DELIVERY].publish(entry)
        await resp.write_eof()
        return resp
    except (asyncio.CancelledError, ConnectionResetError):
        entry.ended = CLIENT_GONE
        raise

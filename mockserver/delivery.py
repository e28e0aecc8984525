"""Delivery: write a :class:`~mockserver.reply.Reply` to the socket, honouring its timing.

The only module that turns a Reply into bytes on the wire. It records in the journal what
went out and how it ended: complete, dropped, reset, truncated, hang, or client_gone.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
from typing import Any

from aiohttp import web

from . import reply as R
from .clock import Clock
from .context import RequestContext
from .sse import encode_comment

CLIENT_GONE = "client_gone"


def _abort(request: web.Request, reset: bool) -> None:
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        transport.abort()
    else:
        transport.close()


class Delivery:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def _wait(self, ms: float, resp: web.StreamResponse | None, reply: R.Reply,
                    ctx: RequestContext) -> None:
        """Wait ``ms`` scenario milliseconds, writing heartbeat comments when asked to."""
        if ms <= 0:
            return
        hb = reply.heartbeat_ms
        if resp is None or not hb or hb <= 0:
            if math.isinf(ms):
                await asyncio.Event().wait()
            await self.clock.sleep(ms)
            return
        left = ms
        while left > hb:
            await self.clock.sleep(hb)
            left -= hb
            await self._write(resp, encode_comment(reply.heartbeat_text), ctx, counted=False)
        await self.clock.sleep(left)

    async def _write(self, resp: web.StreamResponse, data: bytes, ctx: RequestContext,
                     counted: bool = True, content: bool = False, type_: str = "") -> None:
        await resp.write(data)
        entry = ctx.entry
        now_ms = (self.clock.monotonic() - ctx.t0) * 1000.0
        if entry.first_byte_ms is None:
            entry.first_byte_ms = now_ms
        entry.last_byte_ms = now_ms
        entry.bytes_sent += len(data)
        if counted:
            entry.events_sent += 1
            entry.emit_ms.append(round(now_ms, 3))
            entry.event_types.append(type_)
            if content and entry.first_content_ms is None:
                entry.first_content_ms = now_ms

    async def deliver(self, request: web.Request, reply: R.Reply, ctx: RequestContext,
                      base_headers: dict[str, str]) -> web.StreamResponse:
        entry = ctx.entry
        entry.status = reply.status
        entry.faults = list(reply.faults)
        headers = {**base_headers, **reply.headers}
        try:
            if math.isinf(reply.delay_ms):
                entry.ended = R.HANG
                await asyncio.Event().wait()
            await self.clock.sleep(reply.delay_ms)
            if reply.events is None:
                return await self._deliver_body(request, reply, ctx, headers)
            return await self._deliver_stream(request, reply, ctx, headers)
        except (asyncio.CancelledError, ConnectionResetError):
            entry.ended = CLIENT_GONE
            raise

    async def _deliver_body(self, request: web.Request, reply: R.Reply, ctx: RequestContext,
                            headers: dict[str, str]) -> web.StreamResponse:
        body = reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body, ensure_ascii=False).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        entry = ctx.entry
        if reply.ending in (R.RESET, R.DROPPED, R.HANG) and not data:
            entry.ended = reply.ending
            if reply.ending == R.HANG:
                await asyncio.Event().wait()
            _abort(request, reset=reply.ending == R.RESET)
            return _closed_response()
        resp = web.StreamResponse(status=reply.status, headers=headers)
        resp.content_type = reply.content_type
        if reply.ending == R.TRUNCATED:
            resp.content_length = len(data)
            await resp.prepare(request)
            await self._write(resp, data[: max(1, len(data) // 2)], ctx, counted=False)
            entry.ended = R.TRUNCATED
            _abort(request, reset=False)
            return resp
        resp.content_length = len(data)
        await resp.prepare(request)
        await self._write(resp, data, ctx, counted=False)
        await resp.write_eof()
        entry.ended = R.COMPLETE
        return resp

    async def _deliver_stream(self, request: web.Request, reply: R.Reply, ctx: RequestContext,
                              headers: dict[str, str]) -> web.StreamResponse:
        entry = ctx.entry
        resp = web.StreamResponse(status=reply.status, headers=headers)
        resp.content_type = "text/event-stream"
        resp.charset = "utf-8"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        entry.first_byte_ms = (self.clock.monotonic() - ctx.t0) * 1000.0
        for ev in reply.events or ():
            await self._wait(ev.delay_ms, resp, reply, ctx)
            await self._write(resp, ev.encode(), ctx, content=ev.content, type_=ev.type)
        ending = reply.ending
        if ending == R.COMPLETE:
            await resp.write_eof()
            entry.ended = "stalled" if "stall" in reply.faults else R.COMPLETE
            return resp
        entry.ended = ending
        if ending == R.HANG:
            # keep the connection open with nothing more to say, heartbeats aside
            while True:
                await self._wait(reply.heartbeat_ms or 3_600_000, resp, reply, ctx)
        _abort(request, reset=ending == R.RESET)
        return resp


def _closed_response() -> web.StreamResponse:
    """A response object for aiohttp to forget: the transport is already gone."""
    resp = web.Response(status=499)
    resp.force_close()
    return resp


def json_default(obj: Any) -> Any:  # pragma: no cover - used for debugging only
    return str(obj)

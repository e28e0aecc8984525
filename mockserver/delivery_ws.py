"""WebSocket delivery: the only code that writes WebSocket messages (the counterpart of
:mod:`mockserver.delivery` for SSE).

A :class:`WsChannel` is one upgraded connection. It sends server events at once
(:meth:`WsChannel.send`) or plays a :class:`~mockserver.reply.Reply`'s event list with its timing
through the one clock (:meth:`WsChannel.play`), one text message per event, and ends the
connection the way the reply says: ``dropped`` closes the TCP connection without a close frame
(the client sees 1006), ``reset`` sends an RST, ``truncated`` cuts inside the next frame. The
journal entry records events, bytes, emit times and how the connection ended.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from . import reply as R
from .clock import Clock
from .context import RequestContext
from .delivery import CLIENT_GONE, close_transport, record_bytes, record_event
from .sse import dumps

STALLED = "stalled"
OPCODE_TEXT = 0x1


def frame_header(size: int, opcode: int = OPCODE_TEXT) -> bytes:
    """The header of one unmasked, final server frame carrying ``size`` payload bytes."""
    first = 0x80 | opcode
    if size < 126:
        return struct.pack("!BB", first, size)
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size)
    return struct.pack("!BBQ", first, 127, size)


def message_text(ev: R.StreamEvent) -> str:
    """An event's message: its JSON payload, or the string a fault put there (``malformed``)."""
    return ev.data if isinstance(ev.data, str) else dumps(ev.data)


class WsChannel:
    def __init__(self, request: web.Request, ctx: RequestContext, clock: Clock) -> None:
        self.request, self.ctx, self.clock = request, ctx, clock
        self.ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=16 * 1024 * 1024)
        self._lock = asyncio.Lock()
        self.gone = False  # the connection was cut by a fault
        self.ending: str | None = None  # how the last reply it delivered ended

    async def open(self, headers: dict[str, str]) -> None:
        from .app_keys import DELIVERY

        self.ws.headers.update(headers)
        self.request.app[DELIVERY].reveal(self.ctx.entry)  # a session that lasts: seen by all workers
        await self.ws.prepare(self.request)
        entry = self.ctx.entry
        entry.status = 101
        entry.first_byte_ms = (Clock.monotonic() - self.ctx.t0) * 1000.0

    async def messages(self) -> AsyncIterator[str | bytes]:
        """The client's text and binary messages until it closes or the connection goes."""
        async for msg in self.ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                yield msg.data
            elif msg.type == WSMsgType.ERROR:
                break

    async def send(self, payloads: list[dict[str, Any]]) -> None:
        async with self._lock:
            for payload in payloads:
                await self._write(payload, payload.get("type", ""), content=False)

    async def _write(self, data: Any, type_: str, content: bool) -> None:
        text = data if isinstance(data, str) else dumps(data)
        if self.gone or self.ws.closed:
            raise ConnectionResetError("the WebSocket connection is closed")
        await self.ws.send_str(text)
        size = len(text.encode())
        now_ms = record_bytes(self.ctx, len(frame_header(size)) + size)
        record_event(self.ctx.entry, now_ms, content, type_)

    async def _wait_until(self, at: float, reply: R.Reply) -> None:
        """Wait until monotonic ``at``; pings stand in for heartbeats while a silence lasts."""
        if math.isinf(at):
            await asyncio.Event().wait()
        hb = reply.heartbeat_ms
        if hb and hb > 0:
            step = self.clock.seconds(hb)
            while at - Clock.monotonic() > step:
                await Clock.sleep_real(step)
                await self.ws.ping()
        await Clock.sleep_until(at)

    async def deliver(
        self, request: web.Request, reply: R.Reply, ctx: RequestContext, base_headers: dict[str, str]
    ) -> web.StreamResponse:
        """The delivery contract of :func:`mockserver.web_handling.send` on an open connection:
        play the reply (one response's events) and keep how it ended in :attr:`ending`."""
        self.ending = None
        self.ending = await self.play(reply)
        return self.ws

    async def play(self, reply: R.Reply) -> str:
        """Send the reply's events with their timing; returns how the reply ended."""
        at = Clock.monotonic() + self.clock.seconds(reply.delay_ms)
        events = reply.events or []
        cut = reply.ending == R.TRUNCATED and events and events[-1].raw is not None
        body = events[:-1] if cut else events
        for ev in body:
            if ev.delay_ms > 0:
                at = max(at, Clock.monotonic())  # a late write moves the rest: no gap shrinks
                at += self.clock.seconds(ev.delay_ms) if math.isfinite(ev.delay_ms) else math.inf
                await self._wait_until(at, reply)
            if ev.raw == b"":  # a fault's silence: nothing to write
                continue
            async with self._lock:
                await self._write(ev.data, ev.type, ev.content)
        if reply.ending == R.COMPLETE:
            return R.COMPLETE
        if reply.ending == R.HANG:
            self.ctx.entry.ended = R.HANG
            await asyncio.Event().wait()
        if cut:
            await self._write_partial(events[-1])
        self.cut(reply.ending)
        return reply.ending

    async def _write_partial(self, ev: R.StreamEvent) -> None:
        """Half of the next frame (its header says more is coming), then nothing."""
        payload = message_text(ev).encode()
        data = frame_header(len(payload)) + payload[: max(1, len(payload) // 2)]
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            record_bytes(self.ctx, len(data))

    def cut(self, ending: str) -> None:
        """End the connection under the client: FIN without a close frame, or an RST."""
        self.ctx.entry.ended = ending
        self.gone = True
        close_transport(self.request, reset=ending == R.RESET)

    def finish(self) -> None:
        """Record how the connection ended, unless a fault already said."""
        entry = self.ctx.entry
        if entry.ended is not None:
            return
        clean = self.ws.close_code is not None and self.ws.close_code != WSCloseCode.ABNORMAL_CLOSURE
        if not clean:
            entry.ended = CLIENT_GONE
        else:
            entry.ended = STALLED if "stall" in entry.faults else R.COMPLETE

"""Delivery: write a :class:`~mockserver.reply.Reply` to the socket, honouring its timing.

The only module that turns a Reply into bytes on the wire. It records in the journal what
went out and how it ended: complete, stalled (complete after a stall), dropped, reset,
truncated, hang, or client_gone (the client went away first).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import errors
from . import reply as R
from .clock import Clock
from .context import RequestContext
from .journal import JournalEntry
from .sse import encode_comment

CLIENT_GONE = "client_gone"


def close_transport(request: web.Request, reset: bool) -> None:
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


TIME_SCALE_HEADER = "X-Mock-Time-Scale"


def request_clock(request: web.Request, clock: Clock) -> Clock:
    """The server's clock, or one with the time scale the request asked for.

    ``X-Mock-Time-Scale: 0.01`` shrinks this request's waits (TTFT, inter-token delays, stalls)
    a hundredfold without touching other clients of the same server.
    """
    raw = request.headers.get(TIME_SCALE_HEADER)
    if raw is None:
        return clock
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise errors.ApiError(
            400,
            f"Invalid {TIME_SCALE_HEADER} header: expected a number > 0, got {raw!r}.",
            param=TIME_SCALE_HEADER,
            code="invalid_value",
        )
    return Clock(scale)


def record_bytes(ctx: RequestContext, n: int) -> float:
    """Journal ``n`` bytes written now; returns the time (ms after arrival)."""
    entry = ctx.entry
    now_ms = (Clock.monotonic() - ctx.t0) * 1000.0
    if entry.first_byte_ms is None:
        entry.first_byte_ms = now_ms
    entry.last_byte_ms = now_ms
    entry.bytes_sent += n
    return now_ms


def record_event(entry: JournalEntry, now_ms: float, content: bool, type_: str) -> None:
    """Journal one event (SSE frame or WebSocket message) sent at ``now_ms``."""
    entry.events_sent += 1
    entry.emit_ms.append(round(now_ms, 3))
    entry.event_types.append(type_)
    if content and entry.first_content_ms is None:
        entry.first_content_ms = now_ms


def _unpublished(entry: JournalEntry) -> None:
    """In one process the journal is the entries themselves: nothing to publish."""


class Delivery:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # serve --workers N (the shared journal's rows): ``publish`` is called with the entry
        # once its final state is known, before the last bytes go out; ``reveal`` before any
        # earlier bytes (the request will wait), so other workers see it while it runs
        self.publish: Callable[[JournalEntry], None] = _unpublished
        self.reveal: Callable[[JournalEntry], None] = _unpublished

    async def _wait_until(
        self, at: float, resp: web.StreamResponse | None, reply: R.Reply, ctx: RequestContext, clock: Clock
    ) -> None:
        """Wait until monotonic time ``at``, writing heartbeat comments while the silence lasts.

        The first wait of a reply is measured from the request's arrival, so the time spent
        handling the request is not added to the scenario's TTFT; each later one from when the
        previous events went out (or were due, if they were on time), so no gap is shorter than
        the scenario says."""
        if math.isinf(at):
            await self._hang(resp, reply, ctx, clock)
        hb = reply.heartbeat_ms
        if resp is not None and hb and hb > 0:
            step = clock.seconds(hb)
            while at - Clock.monotonic() > step:
                await Clock.sleep_real(step)
                await self._write(resp, encode_comment(reply.heartbeat_text), ctx, counted=False)
        await Clock.sleep_until(at)

    async def _hang(
        self, resp: web.StreamResponse | None, reply: R.Reply, ctx: RequestContext, clock: Clock
    ) -> None:
        """Say nothing more, ever (heartbeats aside, when the reply has them)."""
        hb = reply.heartbeat_ms
        if resp is None or not hb or hb <= 0:
            await asyncio.Event().wait()
        while True:
            await Clock.sleep_real(clock.seconds(hb))
            await self._write(resp, encode_comment(reply.heartbeat_text), ctx, counted=False)

    async def _write(
        self,
        resp: web.StreamResponse,
        data: bytes,
        ctx: RequestContext,
        counted: bool = True,
        content: bool = False,
        type_: str = "",
    ) -> None:
        self.reveal(ctx.entry)
        await resp.write(data)
        now_ms = record_bytes(ctx, len(data))
        if counted:
            record_event(ctx.entry, now_ms, content, type_)

    async def _write_events(
        self, resp: web.StreamResponse, batch: list[tuple[bytes, R.StreamEvent]], ctx: RequestContext
    ) -> None:
        """Events due at the same moment go out in one write: same bytes, same timing, a fraction
        of the per-write cost (the largest cost of a zero-delay stream)."""
        data = batch[0][0] if len(batch) == 1 else b"".join([d for d, _ in batch])
        self.reveal(ctx.entry)
        await resp.write(data)
        self._record(ctx, len(data), batch)

    async def _write_last(
        self,
        resp: web.StreamResponse,
        data: bytes,
        ctx: RequestContext,
        batch: list[tuple[bytes, R.StreamEvent]] | None = None,
    ) -> None:
        """The reply's last bytes (a body, or the stream's last ``batch`` of events) and its end
        (the chunked terminator) in one write. Journalled just before (the caller has set how the
        reply ended), so a client that reads the journal as soon as it has the last byte finds
        the entry final, whichever worker of ``serve --workers N`` it asks."""
        entry = ctx.entry
        before = (entry.bytes_sent, entry.events_sent, entry.first_byte_ms, entry.last_byte_ms)
        before_content = entry.first_content_ms
        if batch is None or batch:
            self._record(ctx, len(data), batch or [])
        elif entry.first_byte_ms is None:  # only the headers (if still buffered) and the end
            entry.first_byte_ms = (Clock.monotonic() - ctx.t0) * 1000.0
        self.publish(entry)
        try:
            await resp.write_eof(data)
        except ConnectionResetError:  # nothing went out: the journal says so
            entry.bytes_sent, entry.events_sent, entry.first_byte_ms, entry.last_byte_ms = before
            entry.first_content_ms = before_content
            if batch:
                del entry.emit_ms[-len(batch) :], entry.event_types[-len(batch) :]
            raise

    @staticmethod
    def _record(ctx: RequestContext, size: int, batch: list[tuple[bytes, R.StreamEvent]]) -> None:
        now_ms = record_bytes(ctx, size)
        entry = ctx.entry
        n = len(batch)
        if not n:
            return
        entry.events_sent += n
        entry.emit_ms.extend([round(now_ms, 3)] * n)
        entry.event_types.extend([ev.type for _, ev in batch])
        if entry.first_content_ms is None and any(ev.content for _, ev in batch):
            entry.first_content_ms = now_ms

    async def deliver(
        self, request: web.Request, reply: R.Reply, ctx: RequestContext, base_headers: dict[str, str]
    ) -> web.StreamResponse:
        entry = ctx.entry
        clock = ctx.clock or self.clock  # chosen by the middleware (X-Mock-Time-Scale)
        entry.status = reply.status
        entry.faults = list(reply.faults)
        headers = {**base_headers, **reply.headers}
        try:
            if math.isinf(reply.delay_ms):
                entry.ended = R.HANG
                self.publish(entry)
                await asyncio.Event().wait()
            await self._wait_until(ctx.t0 + clock.seconds(reply.delay_ms), None, reply, ctx, clock)
            if reply.events is None:
                return await self._deliver_body(request, reply, ctx, headers)
            return await self._deliver_stream(request, reply, ctx, headers, clock)
        except asyncio.CancelledError:  # the client went away while we waited (handler cancelled)
            if entry.ended != R.HANG:
                entry.ended = CLIENT_GONE
            raise
        except ConnectionResetError:  # the client went away under a write: journalled, not a crash
            entry.ended = CLIENT_GONE
            return _closed_response()

    async def _deliver_body(
        self, request: web.Request, reply: R.Reply, ctx: RequestContext, headers: dict[str, str]
    ) -> web.StreamResponse:
        body = reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body, ensure_ascii=False).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        entry = ctx.entry
        if reply.ending in (R.RESET, R.DROPPED, R.HANG):
            # no answer at all: the connection goes away (or stays silent) before the status line
            entry.ended = reply.ending
            self.publish(entry)
            if reply.ending == R.HANG:
                await asyncio.Event().wait()
            close_transport(request, reset=reply.ending == R.RESET)
            return _closed_response()
        resp = CoalescingResponse(status=reply.status, headers=headers)
        resp.content_type = reply.content_type
        resp.content_length = len(data)
        await resp.prepare(request)
        if reply.ending == R.TRUNCATED:
            await self._write(resp, data[: max(1, len(data) // 2)], ctx, counted=False)
            entry.ended = R.TRUNCATED
            self.publish(entry)
            close_transport(request, reset=False)
            return resp
        entry.ended = "stalled" if "stall" in reply.faults else R.COMPLETE
        await self._write_last(resp, data, ctx)  # status line, headers and body: one write
        return resp

    async def _deliver_stream(
        self, request: web.Request, reply: R.Reply, ctx: RequestContext, headers: dict[str, str], clock: Clock
    ) -> web.StreamResponse:
        """The headers go out with the first events when those are due at once (a zero-delay
        stream is one write: headers, every frame, the chunked terminator), or on their own
        before the first wait, so a client still sees the status line as soon as the stream
        starts."""
        entry = ctx.entry
        resp = CoalescingResponse(status=reply.status, headers=headers)
        resp.content_type = "text/event-stream"
        resp.charset = "utf-8"
        resp.enable_chunked_encoding()
        writer = await resp.prepare(request)
        due: list[tuple[bytes, R.StreamEvent]] = []  # events due now, not yet written
        at = ctx.t0 + clock.seconds(reply.delay_ms)  # when the next event is due (monotonic)
        for ev in reply.events or ():
            if ev.live is not None and not ev.live():
                continue  # silenced (its job was cancelled): no write, and no wait for it either
            if ev.delay_ms > 0:
                if due:
                    await self._write_events(resp, due, ctx)
                    due = []
                    at = max(at, Clock.monotonic())  # a late write moves the rest: no gap shrinks
                elif entry.first_byte_ms is None:
                    self.reveal(entry)
                    send_headers(writer, ctx)
                at += clock.seconds(ev.delay_ms) if math.isfinite(ev.delay_ms) else math.inf
                await self._wait_until(at, resp, reply, ctx, clock)
            data = ev.encode()
            if data:  # an empty frame is a pause (a fault's silence): nothing to write
                due.append((data, ev))
        ending = reply.ending
        if ending == R.COMPLETE:
            entry.ended = "stalled" if "stall" in reply.faults else R.COMPLETE
            await self._write_last(resp, b"".join([d for d, _ in due]), ctx, due)
            return resp
        entry.ended = ending
        if due:
            await self._write_events(resp, due, ctx)
        elif entry.first_byte_ms is None:
            self.reveal(entry)
            send_headers(writer, ctx)
        self.publish(entry)
        if ending == R.HANG:
            await self._hang(resp, reply, ctx, clock)  # the connection stays open, silent
        close_transport(request, reset=ending == R.RESET)
        return resp


class CoalescingResponse(web.StreamResponse):
    """A response whose status line and headers wait for its first write (aiohttp then sends
    them in the same ``transport.write``): a zero-delay stream or a JSON body is one write, not
    three. Before any wait, delivery sends them on their own (:func:`send_headers`)."""

    _send_headers_immediately = False


def send_headers(writer: Any, ctx: RequestContext) -> None:
    """Put the buffered status line and headers on the wire now (before a wait)."""
    send = getattr(writer, "send_headers", None)
    if send is not None:  # an aiohttp that buffers headers; older ones sent them at prepare
        send()
    ctx.entry.first_byte_ms = (Clock.monotonic() - ctx.t0) * 1000.0


def _closed_response() -> web.StreamResponse:
    """A response object for aiohttp to forget: the transport is already gone."""
    resp = web.Response(status=499)
    resp.force_close()
    return resp

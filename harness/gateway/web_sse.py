"""The client side of a chat stream: SSE headers, the connected comment, heartbeats, events.

Transport only. What to send is decided by :mod:`.relay`; :class:`ChatSink` maps its calls to
seed 004's events (``token``, ``usage``, ``error``, ``done``). Frames come from the project's one
SSE encoder (:mod:`servekit.sse`, shared with the mock without the gateway knowing the mock).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from servekit.sse import encode_comment, encode_event

from .failures import Failure
from .pricing import cost_usd
from .relay import ClientGone

SSE_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
    "Proxy-Buffering": "off",
}
CONNECTED = "Connected to chat stream"


class SSEChannel:
    """One open event stream. A heartbeat never splits an event: every frame goes out in one
    ``response.write``, which hands all its bytes to the transport before it can wait (for the
    buffer to drain), so frames from the relay and the heartbeat task interleave whole. (An
    ``asyncio.Lock`` around each write did the same at a measured cost on every token.)"""

    def __init__(self, request: web.Request, headers: dict[str, str], heartbeat_s: float) -> None:
        self.request = request
        self.response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
        self.response.content_type = "text/event-stream"
        self.heartbeat_s = heartbeat_s
        self._heartbeat: asyncio.Task[None] | None = None
        self.closed = False

    async def open(self) -> None:
        """Send the headers and the connected comment at once, then start the heartbeat."""
        await self.response.prepare(self.request)
        await self.write(encode_comment(CONNECTED))
        self._heartbeat = asyncio.create_task(self._beat(), name="sse-heartbeat")

    async def _beat(self) -> None:
        with contextlib.suppress(ClientGone):
            while not self.closed:
                await asyncio.sleep(self.heartbeat_s)
                await self.write(encode_comment(f"heartbeat {int(time.time() * 1000)}"))

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ClientGone("the stream is closed")
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ClientGone("the client went away")
        try:
            await self.response.write(data)
        except (ConnectionError, RuntimeError) as exc:
            raise ClientGone(str(exc)) from exc

    async def send(self, event: str, data: dict[str, Any]) -> None:
        await self.write(encode_event(data, event))

    async def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def close(self) -> None:
        await self.stop_heartbeat()
        if not self.closed:
            self.closed = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.response.write_eof()


class ChatSink:
    """Seed 004's events on an :class:`SSEChannel`."""

    def __init__(self, channel: SSEChannel, model: str) -> None:
        self.channel = channel
        self.model = model

    async def token(self, text: str) -> None:
        await self.channel.send("token", {"text": text})

    async def usage(self, tokens_in: int, tokens_out: int) -> None:
        await self.channel.send(
            "usage",
            {
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": cost_usd(self.model, tokens_in, tokens_out),
                "model": self.model,
            },
        )

    async def error(self, failure: Failure) -> None:
        await self.channel.send("error", failure.event())

    async def done(self, finish_reason: str, provider_retry_count: int) -> None:
        await self.channel.stop_heartbeat()
        await self.channel.send(
            "done", {"finish_reason": finish_reason, "provider_retry_count": provider_retry_count}
        )

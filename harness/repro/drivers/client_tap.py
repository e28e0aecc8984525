"""What the SDK's HTTP client received, byte for byte: a transport that records every response.

The SDK hides what a symptom is made of: it drops SSE comment lines (heartbeats), stops at
``data: [DONE]`` without saying so, and keeps response headers to itself once the body is parsed.
:class:`TapTransport` sits under the SDK's ``httpx2`` client, passes every request through
unchanged and keeps, per response, its status, headers and the SSE frames its body carried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from servekit.sse import Frame, SSEReader

RATELIMIT_PREFIX = "x-ratelimit-"


@dataclass(slots=True)
class TappedResponse:
    status: int
    headers: dict[str, str]
    frames: list[Frame] = field(default_factory=list)
    reader: SSEReader = field(default_factory=SSEReader)

    @property
    def comments(self) -> int:
        return sum(1 for f in self.frames if f.is_comment)

    @property
    def done(self) -> bool:
        """The chat stream's terminator ``data: [DONE]`` arrived."""
        return any(f.data == "[DONE]" for f in self.frames if not f.is_comment)

    def ratelimit(self) -> dict[str, str]:
        """``x-ratelimit-remaining-requests: 2`` as ``{"remaining_requests": "2"}``."""
        return {
            k[len(RATELIMIT_PREFIX) :].replace("-", "_"): v
            for k, v in self.headers.items()
            if k.startswith(RATELIMIT_PREFIX)
        }


class _TappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, seen: TappedResponse) -> None:
        self._inner = inner
        self._seen = seen

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._seen.frames.extend(self._seen.reader.feed(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class TapTransport(httpx2.AsyncBaseTransport):
    """The default transport, with a record of every response (``responses``, in order)."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.responses: list[TappedResponse] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        seen = TappedResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()})
        self.responses.append(seen)
        response.stream = _TappedStream(response.stream, seen)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

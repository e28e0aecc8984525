"""The upstream call: a streaming chat completion over a pooled aiohttp session, speaking what the
official ``openai`` SDK speaks on the wire.

Why not the SDK's own request path: measured under 100 concurrent streams, the SDK (httpx2,
httpcore2, anyio, its request builder) cost ~2.3 ms of CPU per stream even in its cheapest form,
and the gateway's whole budget is ~1.5x a bare aiohttp relay (~5 ms). So the SDK does what it is
cheap and exact at, once or on the error path only:

* at start-up it writes the request: :func:`sdk_request_template` makes one real SDK call
  against an in-memory transport and keeps its URL and headers (``user-agent``,
  ``x-stainless-*``, auth, ``x-stainless-read-timeout``…), so the gateway sends byte for byte the
  headers of the SDK version installed, with ``x-stainless-retry-count`` set per attempt;
* on a 4xx/5xx it builds the typed exception from the response, exactly as the SDK would
  (``RateLimitError``, ``InternalServerError``…, with the body's message), and connection
  failures and timeouts become ``APIConnectionError`` / ``APITimeoutError``, so
  :func:`~.failures.classify` and the retry policy see the SDK's vocabulary.

:func:`open_chat_stream` yields :class:`Piece` objects (a text delta, the finish reason, the
usage) so the relay never touches wire types. Retrying is the relay's job (:mod:`.retry_policy`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx2
import openai
import orjson

from servekit.sse import Frame, SSEReader

from .settings import GatewaySettings

MOCK_HEADERS = ("X-Mock-Scenario", "X-Mock-Session")
RETRY_COUNT_HEADER = "x-stainless-retry-count"
# set by aiohttp itself for each request (or meaningless on a captured in-memory request)
_PER_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", RETRY_COUNT_HEADER}
)


@dataclass(frozen=True, slots=True)
class Piece:
    text: str = ""
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    model: str
    messages: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)  # forwarded to the upstream as is


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """What the SDK sends for a streaming chat completion: its URL and headers, in its order.
    ``before`` and ``after`` are the SDK's own headers on either side of the place where it puts
    a call's extra headers (the forwarded ones, then ``x-stainless-retry-count``)."""

    url: str
    before: tuple[tuple[str, str], ...]
    after: tuple[tuple[str, str], ...] = ()

    def headers_for(self, retry_count: int, extra: Mapping[str, str]) -> dict[str, str]:
        headers = dict(self.before)
        for name, value in extra.items():  # lower-cased, as httpx2 sends every header name
            headers[name.lower()] = value
        headers[RETRY_COUNT_HEADER] = str(retry_count)
        headers.update(self.after)
        return headers


def timeouts(settings: GatewaySettings) -> httpx2.Timeout:
    """The SDK's timeouts (they also set its ``x-stainless-read-timeout`` header)."""
    connect = settings.connect_timeout_ms / 1000
    return httpx2.Timeout(connect=connect, read=settings.read_timeout_ms / 1000, write=connect, pool=connect)


def client_timeout(settings: GatewaySettings) -> aiohttp.ClientTimeout:
    """The same limits on aiohttp: ``connect`` (a pooled connection or a new one), and the
    longest silence between two reads of the body; no total, a stream may last."""
    connect = settings.connect_timeout_ms / 1000
    return aiohttp.ClientTimeout(
        total=None, connect=connect, sock_connect=connect, sock_read=settings.read_timeout_ms / 1000
    )


def connector_options(settings: GatewaySettings) -> dict[str, Any]:
    """At most ``max_connections`` open at once; of those idle, ``keepalive_connections`` kept
    for reuse, each for 30 s (httpx's ``max_keepalive_connections`` and ``keepalive_expiry``)."""
    return {
        "max_keepalive": settings.keepalive_connections,
        "limit": settings.max_connections,
        "limit_per_host": settings.max_connections,
        "keepalive_timeout": 30.0,
        "ttl_dns_cache": 300,
    }


class KeepAliveConnector(aiohttp.TCPConnector):
    """aiohttp's connector with httpx's cap on idle connections: a connection released while
    ``max_keepalive`` others already wait idle for the same host is closed, not pooled (seed
    004: a keep-alive pool of 50). aiohttp has no such option; this is its one release hook."""

    def __init__(self, *, max_keepalive: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_keepalive = max_keepalive

    def idle(self) -> int:
        return sum(len(conns) for conns in self._conns.values())

    def _release(self, key: Any, protocol: Any, *, should_close: bool = False) -> None:
        if len(self._conns.get(key, ())) >= self.max_keepalive:
            should_close = True
        super()._release(key, protocol, should_close=should_close)


def make_client(
    settings: GatewaySettings, http_client: httpx2.AsyncClient | None = None
) -> openai.AsyncOpenAI:
    """The SDK client whose request the gateway speaks (and whose error types it raises)."""
    return openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=timeouts(settings),
        http_client=http_client,
    )


async def sdk_request_template(settings: GatewaySettings) -> RequestTemplate:
    """Make one SDK streaming call against an in-memory transport and keep what it sent."""
    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=b"data: [DONE]\n\n"
        )

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http:
        sdk = make_client(settings, http)
        async with sdk.chat.completions.with_streaming_response.create(
            model=settings.model,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={RETRY_COUNT_HEADER: "0"},
        ) as response:
            await response.read()
    items = sent[0].headers.multi_items()
    names = [name.lower() for name, _ in items]
    extras_at = names.index(RETRY_COUNT_HEADER) if RETRY_COUNT_HEADER in names else len(items)

    def own(part: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((name, value) for name, value in part if name.lower() not in _PER_REQUEST_HEADERS)

    return RequestTemplate(str(sent[0].url), own(items[:extras_at]), own(items[extras_at + 1 :]))


def request_body(call: UpstreamCall) -> bytes:
    """The JSON body the SDK sends: compact, UTF-8, in its key order."""
    return orjson.dumps(
        {
            "model": call.model,
            "stream": True,
            "messages": call.messages,
            "stream_options": {"include_usage": True},
        }
    )


def forwarded_headers(incoming: Mapping[str, str], settings: GatewaySettings) -> dict[str, str]:
    """The mock-selection headers of the incoming request, passed on so that a test or a load run
    picks the mock scenario (and its attempt counter) through the gateway."""
    if not settings.forward_mock_headers:
        return {}
    return {name: incoming[name] for name in MOCK_HEADERS if incoming.get(name)}


class Upstream:
    """The pooled upstream connection and the request template; one per gateway app."""

    def __init__(self, settings: GatewaySettings, template: RequestTemplate, session: aiohttp.ClientSession):
        self.settings = settings
        self.template = template
        self.session = session
        self.sdk = make_client(settings)  # builds typed status errors; never sends a request
        self.request = httpx2.Request("POST", template.url)  # what the SDK's exceptions carry

    @classmethod
    async def start(cls, settings: GatewaySettings) -> Upstream:
        template = await sdk_request_template(settings)
        session = aiohttp.ClientSession(
            connector=KeepAliveConnector(**connector_options(settings)),
            timeout=client_timeout(settings),
            auto_decompress=True,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
        )
        return cls(settings, template, session)

    async def close(self) -> None:
        await self.session.close()
        await self.sdk.close()

    def status_error(self, status: int, headers: Mapping[str, str], body: bytes) -> openai.APIStatusError:
        """The SDK's own exception for this answer (its message, its class for the status)."""
        response = httpx2.Response(status, headers=list(headers.items()), content=body, request=self.request)
        return self.sdk._make_status_error_from_response(response)  # noqa: SLF001 - the SDK's mapping


async def open_chat_stream(upstream: Upstream, call: UpstreamCall, retry_count: int) -> AsyncIterator[Piece]:
    """One attempt: a streaming chat completion, as pieces. Closing the generator (or cancelling
    the task reading it) closes the upstream connection at once."""
    headers = upstream.template.headers_for(retry_count, call.headers)
    request = upstream.request
    try:
        async with upstream.session.post(
            upstream.template.url, data=request_body(call), headers=headers
        ) as resp:
            if resp.status >= 400:
                raise upstream.status_error(resp.status, resp.headers, await resp.read())
            async for piece in pieces_of_stream(frames_of(resp.content), request):
                yield piece
            await _drain(resp)
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise openai.APITimeoutError(request=request) from exc
    except aiohttp.ClientError as exc:
        raise openai.APIConnectionError(request=request) from exc


async def frames_of(content: aiohttp.StreamReader) -> AsyncIterator[Frame]:
    """The body's SSE frames as they arrive, read by the project's one SSE reader: one read per
    network chunk, however many events it holds."""
    reader = SSEReader()
    async for chunk in content.iter_any():
        for frame in reader.feed(chunk):
            yield frame


async def _drain(resp: aiohttp.ClientResponse, timeout_s: float = 0.1) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body) so the connection can be
    reused; a body that does not end within ``timeout_s`` is left to be closed."""
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(timeout_s):
            await resp.content.read()


async def pieces_of_stream(frames: AsyncIterator[Frame], request: httpx2.Request) -> AsyncIterator[Piece]:
    """The pieces of a chat-completions SSE body, read the way the SDK reads it: an event's data
    is a JSON chunk, ``[DONE]`` ends the stream, an ``{"error": ...}`` chunk raises
    :class:`openai.APIError`, and data that is not JSON raises ``ValueError``; comments (keep-alives)
    and events without data are skipped."""
    async for frame in frames:
        data = frame.data
        if frame.is_comment or not data:
            continue
        if data.startswith("[DONE]"):
            return
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            raise ValueError(f"unexpected chunk: {data[:80]}")
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(message or "An error occurred during streaming", request, body=error)
        usage = chunk.get("usage")
        if usage:
            yield Piece(tokens_in=usage.get("prompt_tokens"), tokens_out=usage.get("completion_tokens"))
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield Piece(text=text)
            if choice.get("finish_reason") is not None:
                yield Piece(finish_reason=choice["finish_reason"])

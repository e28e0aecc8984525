"""The upstream call: the official ``openai`` SDK with its own retries off, on a pooled client.

:func:`open_chat_stream` yields :class:`Piece` objects (a text delta, the finish reason, the usage)
so the relay never touches SDK types. Retrying is the relay's job (:mod:`.retry_policy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

from .settings import GatewaySettings

MOCK_HEADERS = ("X-Mock-Scenario", "X-Mock-Session")


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


def timeouts(settings: GatewaySettings) -> httpx2.Timeout:
    connect = settings.connect_timeout_ms / 1000
    return httpx2.Timeout(connect=connect, read=settings.read_timeout_ms / 1000, write=connect, pool=connect)


def http_client_options(settings: GatewaySettings) -> dict[str, Any]:
    """Keep-alive pool of ``keepalive_connections`` sockets (50 by default), as seed 004 asks."""
    return {
        "limits": httpx2.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.keepalive_connections,
            keepalive_expiry=30.0,
        ),
        "timeout": timeouts(settings),
    }


def make_client(settings: GatewaySettings) -> openai.AsyncOpenAI:
    http_client = openai.DefaultAsyncHttpxClient(**http_client_options(settings))
    return openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=timeouts(settings),
        http_client=http_client,
    )


def forwarded_headers(incoming: Mapping[str, str], settings: GatewaySettings) -> dict[str, str]:
    """The mock-selection headers of the incoming request, passed on so that a test or a load run
    picks the mock scenario (and its attempt counter) through the gateway."""
    if not settings.forward_mock_headers:
        return {}
    return {name: incoming[name] for name in MOCK_HEADERS if incoming.get(name)}


async def open_chat_stream(
    client: openai.AsyncOpenAI, call: UpstreamCall, retry_count: int
) -> AsyncIterator[Piece]:
    """One attempt: a streaming chat completion, as pieces. Closing the generator (or cancelling
    the task reading it) closes the upstream response at once.

    The SDK makes the request (auth, headers, status errors as its typed exceptions); the body is
    read with :func:`pieces_of_stream`, a plain SSE reader, because building the SDK's pydantic
    chunk objects was the largest cost per token under load and the gateway needs three fields.
    """
    headers = {**call.headers, "x-stainless-retry-count": str(retry_count)}
    async with client.chat.completions.with_streaming_response.create(
        model=call.model,
        messages=call.messages,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
        extra_headers=headers,
    ) as response:
        http = response.http_response
        lines = http.aiter_lines()
        try:
            async for piece in pieces_of_stream(lines, http.request):
                yield piece
            await _drain(lines)
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=http.request) from exc
        except httpx2.TransportError as exc:
            raise openai.APIConnectionError(request=http.request) from exc


async def _drain(lines: AsyncIterator[str], timeout_s: float = 0.1) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body) so the connection can be
    reused; a body that does not end within ``timeout_s`` is left to be closed."""
    with contextlib.suppress(TimeoutError, httpx2.HTTPError):
        async with asyncio.timeout(timeout_s):
            async for _ in lines:
                pass


async def pieces_of_stream(lines: AsyncIterator[str], request: httpx2.Request) -> AsyncIterator[Piece]:
    """The pieces of a chat-completions SSE body, read the way the SDK reads it: ``data:`` lines
    hold JSON chunks, ``[DONE]`` ends the stream, an ``{"error": ...}`` chunk raises :class:`openai.APIError`,
    and a line that is not JSON raises ``ValueError``."""
    async for line in lines:
        if not line.startswith("data:"):
            continue  # comments, event names, blank separators
        data = line[5:].lstrip(" ")
        if data.startswith("[DONE]"):
            return
        chunk = json.loads(data)
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

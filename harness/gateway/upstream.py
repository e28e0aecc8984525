"""The upstream call: the official ``openai`` SDK with its own retries off, on a pooled client.

:func:`open_chat_stream` yields :class:`Piece` objects (a text delta, the finish reason, the usage)
so the relay never touches SDK types. Retrying is the relay's job (:mod:`.retry_policy`).
"""

from __future__ import annotations

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
    the task reading it) closes the upstream response at once."""
    headers = {**call.headers, "x-stainless-retry-count": str(retry_count)}
    stream = await client.chat.completions.create(
        model=call.model,
        messages=call.messages,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
        extra_headers=headers,
    )
    async with stream:
        async for chunk in stream:
            if chunk.usage is not None:
                yield Piece(tokens_in=chunk.usage.prompt_tokens, tokens_out=chunk.usage.completion_tokens)
            for choice in chunk.choices:
                if choice.index != 0:
                    continue
                if choice.delta is not None and choice.delta.content:
                    yield Piece(text=choice.delta.content)
                if choice.finish_reason is not None:
                    yield Piece(finish_reason=choice.finish_reason)

"""Fixtures and helpers for the gateway tests: a gateway on a free port in front of the pytest
plugin's mock (``mock_openai_server``; a test's session and journal are ``mock_openai``'s), and a
stream reader on the project's SSE reader.

Import with ``from gateway_fixtures import *`` (the fixtures are found by name).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from harness.gateway.auth import mint_token
from harness.gateway.runner import GatewayServer
from harness.gateway.settings import GatewaySettings
from harness.gateway.web_gateway import STORE
from mockserver.web_runner import MockServer
from servekit.sse import SSEReader

__all__ = [
    "SECRET",
    "SESSION_ID",
    "Frame",
    "Stream",
    "auth",
    "chat",
    "gateway",
    "gateway_factory",
    "gateway_events",
    "read_stream",
    "settings_for",
]

SECRET = "gateway-test-secret-with-at-least-32-chars"
SESSION_ID = "session-20250819-143022-a1b2"


@dataclass(slots=True)
class Frame:
    """One SSE frame as the client saw it: a comment, or an event with its JSON data."""

    at: float  # perf_counter seconds when it arrived
    comment: str | None = None
    event: str | None = None
    data: Any = None


@dataclass(slots=True)
class Stream:
    status: int
    headers: CIMultiDict[str]
    frames: list[Frame]
    started: float

    @property
    def events(self) -> list[Frame]:
        return [f for f in self.frames if f.event is not None]

    @property
    def names(self) -> list[str]:
        return [f.event for f in self.events]  # type: ignore[misc]

    def of(self, name: str) -> list[Frame]:
        return [f for f in self.events if f.event == name]

    @property
    def text(self) -> str:
        return "".join(f.data["text"] for f in self.of("token"))

    @property
    def comments(self) -> list[Frame]:
        return [f for f in self.frames if f.comment is not None]


async def read_stream(
    resp: aiohttp.ClientResponse, started: float, stop_after_tokens: int | None = None
) -> Stream:
    """Read SSE frames as they arrive (optionally stop after N tokens and leave the rest unread),
    with the project's one SSE reader."""
    frames: list[Frame] = []
    reader = SSEReader()
    tokens = 0
    async for chunk in resp.content.iter_any():
        for sse in reader.feed(chunk):
            frame = Frame(time.perf_counter(), comment=sse.comment, event=sse.event)
            if sse.data:
                frame.data = json.loads(sse.data)
            frames.append(frame)
            if frame.event == "token":
                tokens += 1
                if stop_after_tokens is not None and tokens >= stop_after_tokens:
                    return Stream(resp.status, CIMultiDict(resp.headers), frames, started)
    return Stream(resp.status, CIMultiDict(resp.headers), frames, started)


async def chat(
    url: str, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> Stream:
    """POST /api/v1/chat and read the whole answer (JSON errors come back as one data frame)."""
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with session.post(url + "/api/v1/chat", headers=headers or {}, **kwargs) as resp:
            if resp.content_type == "text/event-stream":
                return await read_stream(resp, started)
            return Stream(
                resp.status,
                CIMultiDict(resp.headers),
                [Frame(time.perf_counter(), data=await resp.json())],
                started,
            )


def auth(
    sub: str = "test-user", scenario: str | None = None, session: str | None = None, **extra: str
) -> dict[str, str]:
    headers = {"Authorization": "Bearer " + mint_token(SECRET, sub=sub), **extra}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    if session:
        headers["X-Mock-Session"] = session
    return headers


def settings_for(mock: MockServer, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "openai_base_url": mock.base_url,
        "jwt_secret": SECRET,
        "telemetry_db": ":memory:",
        "retry_initial_ms": 20,
        "retry_max_delay_ms": 100,
        "read_timeout_ms": 2000,
        "first_token_timeout_ms": 5000,
        "connect_timeout_ms": 2000,
    }
    values.update(overrides)
    return GatewaySettings.from_env({}, **values)


def gateway_events(gw: GatewayServer, type_: str | None = None) -> list[dict[str, Any]]:
    """Telemetry rows, read through the store's own thread (after every queued write)."""
    return asyncio.run_coroutine_threadsafe(gw.app[STORE].events(type_), gw.loop).result(10)


@pytest.fixture(scope="module")
def gateway(mock_openai_server: MockServer) -> Iterator[GatewayServer]:
    """A gateway in front of the plugin's mock (the gateway scenarios are in its catalogue)."""
    with GatewayServer(settings_for(mock_openai_server)) as server:
        yield server


@pytest.fixture
def gateway_factory(mock_openai_server: MockServer) -> Iterator[Any]:
    """Start a gateway with settings of the test's own; stopped at the end of the test."""
    started: list[GatewayServer] = []

    def start(**overrides: Any) -> GatewayServer:
        server = GatewayServer(settings_for(mock_openai_server, **overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

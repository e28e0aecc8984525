"""Reading a Realtime connection's server events in tests: each one validated against the SDK's
own union type, one at a time or up to an event of a given type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


def validated(raw: bytes | str) -> Any:
    """The SDK's own union type over the raw message; every server event has an event_id."""
    event = SERVER_EVENT.validate_json(raw)
    assert json.loads(raw)["event_id"].startswith("event_")
    return event


async def recv(conn: Any, timeout_s: float = 10.0) -> Any:
    """The next server event of an async connection, validated."""
    return validated(await asyncio.wait_for(conn.recv_bytes(), timeout_s))


async def until(conn: Any, *last: str) -> list[Any]:
    """Events up to and including the first of a type in ``last`` (``response.done`` unless
    given), each validated."""
    stop = last or ("response.done",)
    events = [await recv(conn)]
    while events[-1].type not in stop:
        events.append(await recv(conn))
    return events

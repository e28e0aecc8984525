"""The one SSE encoder. Every byte of every event stream the mock writes comes from here.

OpenAI's chat stream uses bare ``data:`` frames ending in ``data: [DONE]``; the Responses and
Images streams name each event (``event: <type>``) and repeat the type inside the JSON.
"""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"


def dumps(payload: Any) -> str:
    """Compact JSON, the way OpenAI's servers write it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def encode_event(data: Any, event: str | None = None) -> bytes:
    """One SSE frame. ``data`` is a JSON-able object, or a string sent as is."""
    text = data if isinstance(data, str) else dumps(data)
    if text == "":
        # Both SDKs try to json-parse an event with empty data and crash; the real API never
        # sends one, so neither do we.
        raise ValueError("refusing to encode an SSE event with empty data")
    lines = [f"event: {event}"] if event else []
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str) -> bytes:
    """A comment line (``: text``), which every SSE client ignores: heartbeats, keep-alives."""
    return "".join(f": {line}\n" for line in text.split("\n")).encode() + b"\n"

"""The one SSE encoder. Every byte of every event stream the mock writes comes from here.

OpenAI's chat stream uses bare ``data:`` frames ending in ``data: [DONE]``; the Responses and
Images streams name each event (``event: <type>``) and repeat the type inside the JSON.

JSON is written by orjson: compact (``,`` and ``:`` with no spaces), keys in insertion order,
non-ASCII as UTF-8 — the bytes ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` gave,
at a tenth of the cost (encoding was a quarter of the mock's CPU on a zero-delay stream); what
orjson refuses (integer keys, integers over 64 bits) goes through the stdlib encoder. Only
floats with large or small exponents are spelled differently (``1e-5``, not ``1e-05``), which
every JSON parser reads as the same number.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"


def _dumps(payload: Any) -> bytes:
    try:
        return orjson.dumps(payload)
    except TypeError:  # what orjson refuses (int keys, ints over 64 bits) the stdlib still writes
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_bytes(payload: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, the way OpenAI's servers write it."""
    return _dumps(payload)


def dumps(payload: Any) -> str:
    """Compact JSON, the way OpenAI's servers write it."""
    return _dumps(payload).decode()


def encode_event(data: Any, event: str | None = None) -> bytes:
    """One SSE frame. ``data`` is a JSON-able object, or a string sent as is."""
    if not isinstance(data, str):
        # compact JSON has no newline in it: one data line
        if event:
            return b"event: " + event.encode() + b"\ndata: " + _dumps(data) + b"\n\n"
        return b"data: " + _dumps(data) + b"\n\n"
    if data == "":
        # Both SDKs try to json-parse an event with empty data and crash; the real API never
        # sends one, so neither do we.
        raise ValueError("refusing to encode an SSE event with empty data")
    lines = [f"event: {event}"] if event else []
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str) -> bytes:
    """A comment line (``: text``), which every SSE client ignores: heartbeats, keep-alives."""
    return "".join(f": {line}\n" for line in text.split("\n")).encode() + b"\n"

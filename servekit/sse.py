"""The one SSE encoder and the one SSE reader, for the mock, the reference gateway and the
harness alike. Every byte of every event stream they write comes from :func:`encode_event` /
:func:`encode_comment`; every stream they read goes through :class:`SSEReader`.

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
from dataclasses import dataclass
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


# --- the reader: bytes in, frames out, no I/O ---------------------------------------------------
# The SSE rules as the SDKs apply them (httpx2's _SSEEventDecoder): ``event:`` and ``data:``
# fields, ``:`` comments (kept: heartbeat checks need them), a blank line dispatches the event.


@dataclass(frozen=True, slots=True)
class Frame:
    event: str | None  # the ``event:`` name; None for chat chunks and comments
    data: str  # the joined ``data:`` lines ("" for a comment)
    comment: str | None = None  # the text of a ``: comment`` line (heartbeats, keep-alives)

    @property
    def is_comment(self) -> bool:
        return self.comment is not None


class SSEReader:
    """Feed it lines (or arbitrary byte chunks); it hands back complete frames."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        self.unknown: list[str] = []  # lines that are no SSE field (a checker may flag them)

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames: list[Frame] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                return frames
            line, self._buffer = self._buffer[:cut], self._buffer[cut + 1 :]
            frame = self._line(line.rstrip(b"\r").decode("utf-8", errors="replace"))
            if frame is not None:
                frames.append(frame)

    @property
    def pending(self) -> bool:
        """Bytes or fields read but not yet dispatched: the stream was cut inside a frame."""
        return bool(self._buffer.strip()) or bool(self._data) or self._event is not None

    def _line(self, line: str) -> Frame | None:
        if line == "":
            if not self._data and self._event is None:
                return None
            frame = Frame(self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return frame
        if line.startswith(":"):
            return Frame(None, "", comment=line[1:].lstrip(" "))
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field not in ("id", "retry"):
            self.unknown.append(line)
        return None

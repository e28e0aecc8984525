"""An incremental SSE reader for load clients: bytes in, frames out, no I/O.

Load clients read a stream line by line as it arrives; :class:`SSEReader` turns those lines into
:class:`Frame` objects (a named or unnamed event, or a comment such as a heartbeat) following the
SSE rules: ``event:`` and ``data:`` fields, ``:`` comments, a blank line dispatches the event.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        return None

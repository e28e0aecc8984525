"""One recorded exchange: what the client asked (endpoint, model, stream), and what the upstream
answered, with its timing: the status and headers, then every SSE frame exactly as it came with
its delay from the previous one (or the whole body), and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..clock import Clock
from ..scenario.replay_spec import ReplayFrame
from ..upstream import RequestFacts

# The upstream's headers a replay sends again (the rest are the relay's or the server's own).
KEPT_HEADERS = ("x-request-id", "openai-processing-ms", "content-type", "x-should-retry")
KEPT_PREFIXES = ("x-ratelimit-", "retry-after")


def kept(name: str) -> bool:
    low = name.lower()
    return low in KEPT_HEADERS or low.startswith(KEPT_PREFIXES)


class FrameSplitter:
    """Bytes as they arrive in, SSE frames out (each with its blank line, exactly as sent), timed
    by the arrival of the chunk that completed it."""

    def __init__(self, start: float) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a frame's end
        self._last = start  # when the previous frame completed (the first: the headers)
        self.frames: list[ReplayFrame] = []

    def feed(self, chunk: bytes, now: float) -> None:
        self._buffer += chunk
        while True:
            # only the new bytes (and the 3 before them, a separator may straddle) are searched:
            # a frame that never ends costs linear time, not a rescan of all of it per chunk
            start = max(0, self._scanned - 3)
            cuts = [
                (i, len(sep))
                for sep in (b"\n\n", b"\r\n\r\n", b"\r\r")
                if (i := self._buffer.find(sep, start)) >= 0
            ]
            if not cuts:
                self._scanned = len(self._buffer)
                return
            i, n = min(cuts)
            raw = bytes(self._buffer[: i + n])
            del self._buffer[: i + n]
            self._scanned = 0
            self.frames.append(ReplayFrame(raw, round((now - self._last) * 1000.0, 3)))
            self._last = now

    def close(self, now: float) -> bool:
        """The stream is over: bytes left (a frame cut short) become a last frame. True if any."""
        if not self._buffer:
            return False
        self.frames.append(ReplayFrame(bytes(self._buffer), round((now - self._last) * 1000.0, 3)))
        self._buffer = bytearray()
        self._scanned = 0
        return True


@dataclass(slots=True)
class Exchange:
    method: str
    path: str
    facts: RequestFacts
    sent_at: float = field(default_factory=Clock.monotonic)  # when the upstream was asked
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # the kept ones
    headers_ms: float = 0.0  # from asking to the status line
    stream: FrameSplitter | None = None  # an SSE answer
    body: bytearray = field(default_factory=bytearray)  # any other answer
    body_ms: float = 0.0  # from asking to the body's last byte
    ending: str = "complete"  # complete, dropped, reset

    def got_headers(self, status: int, headers: dict[str, str], now: float) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items() if kept(k)}
        self.headers_ms = round((now - self.sent_at) * 1000.0, 3)
        if headers_content_type(headers).startswith("text/event-stream"):
            self.stream = FrameSplitter(now)

    def got(self, chunk: bytes, now: float) -> None:
        if self.stream is not None:
            self.stream.feed(chunk, now)
        else:
            self.body += chunk
            self.body_ms = round((now - self.sent_at) * 1000.0, 3)

    def ended(self, how: str, now: float) -> None:
        self.ending = how
        if self.stream is not None:
            self.stream.close(now)
        elif not self.body_ms:
            self.body_ms = round((now - self.sent_at) * 1000.0, 3)


def headers_content_type(headers: dict[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()

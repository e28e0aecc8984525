"""What an API fake produces and what a fault transforms: a :class:`Reply`.

An API module (``mockserver/api/*``) knows the OpenAI resource and builds a Reply: status,
headers and either one body or an ordered list of :class:`StreamEvent` with their intended
timing. It does no I/O. A fault (``mockserver/scenario/faults.py``) knows only Replies and
events, never which resource made them; :mod:`mockserver.delivery` writes the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .sse import encode_event

# How delivery ends a stream after its last event.
COMPLETE = "complete"  # normal end of body (chunked terminator)
DROPPED = "dropped"  # connection closed (FIN) without ending the body: the upstream went away
RESET = "reset"  # TCP reset (RST)
TRUNCATED = "truncated"  # cut inside a frame, then closed
HANG = "hang"  # never end; the client has to give up
ENDINGS = (COMPLETE, DROPPED, RESET, TRUNCATED, HANG)


@dataclass(slots=True)
class StreamEvent:
    data: Any  # JSON-able payload, or a string sent as is ("[DONE]")
    event: str | None = None  # SSE event name (Responses, Images); None for chat chunks
    type: str = ""  # the event's type, for faults that pick events ("response.output_text.delta")
    delay_ms: float = 0.0  # scenario milliseconds to wait before writing it
    content: bool = False  # carries content (a token, a partial image); TTFT is measured to it
    raw: bytes | None = None  # bytes that replace the encoding (malformed, truncated, comments)
    terminal: bool = False  # the stream's terminator ([DONE], response.completed, *.completed)
    # asked just before the event is written: False silences it (a job cancelled elsewhere)
    live: Callable[[], bool] | None = None

    def encode(self) -> bytes:
        if self.live is not None and not self.live():
            return b""
        return self.raw if self.raw is not None else encode_event(self.data, self.event)


@dataclass(slots=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as is with content_type
    content_type: str = "application/json"
    events: list[StreamEvent] | None = None  # not None: an SSE stream
    ending: str = COMPLETE
    delay_ms: float = 0.0  # before the status line is written (math.inf: never answer)
    heartbeat_ms: float | None = None  # comment lines while a wait lasts longer than this
    heartbeat_text: str = "keep-alive"
    faults: list[str] = field(default_factory=list)  # names of the faults that shaped it
    model: str | None = None

    @property
    def streaming(self) -> bool:
        return self.events is not None

    @property
    def hangs(self) -> bool:
        return math.isinf(self.delay_ms) or self.ending == HANG

    def total_ms(self) -> float:
        return self.delay_ms + sum(e.delay_ms for e in self.events or ())

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


def _named_error_event(error: dict[str, Any], previous: list[StreamEvent]) -> StreamEvent:
    return StreamEvent({"type": "error", "error": error}, event="error", type="error", terminal=True)


def usage_total(obj: Any) -> int | None:
    """``obj["usage"]["total_tokens"]`` when ``obj`` has it (the usage report most APIs share)."""
    usage = obj.get("usage") if isinstance(obj, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def reported_usage(reply: Reply, inner: str | None = None) -> int | None:
    """The usage a reply reports: its body's, else its last event's that has one (looked for in
    ``data[inner]`` too, where an API nests its object inside its events)."""
    if isinstance(reply.body, dict):
        return usage_total(reply.body)
    for ev in reversed(reply.events or ()):
        if isinstance(ev.data, dict):
            total = usage_total(ev.data) or (usage_total(ev.data.get(inner)) if inner else None)
            if total:
                return total
    return None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """How one API speaks on its streams, for the faults that must speak it too. Each API module
    (``mockserver/api/*``) exports one and puts it on the Replies it builds; a fault asks the
    Reply, so it names no endpoint, no model and no event type, and a new endpoint is a new API
    module only.

    * ``error_event(error, previous)``: the in-band error this API sends after ``previous``
      (``error`` is OpenAI's ``{"message", "type", "param", "code"}`` object);
    * ``tokens(reply)``: the tokens a reply costs by its own usage report, or None (then its
      content events are counted);
    * ``malformed``: a frame of this API cut short (the default of the ``malformed`` fault).
    """

    name: str
    error_event: Callable[[dict[str, Any], list[StreamEvent]], StreamEvent] = _named_error_event
    tokens: Callable[[Reply], int | None] = reported_usage
    malformed: str = '{"type": "error", "error": {"message": "unterminated'


GENERIC = Vocabulary("generic")  # named events carrying an ``error`` object (the Images API's way)


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
    vocabulary: Vocabulary = GENERIC  # how the API that built it speaks (see Vocabulary)

    @property
    def hangs(self) -> bool:
        return math.isinf(self.delay_ms) or self.ending == HANG

    def total_ms(self) -> float:
        return self.delay_ms + sum(e.delay_ms for e in self.events or ())

"""Faults: one class per fault, each a transform of a :class:`~mockserver.reply.Reply`.

A fault knows Replies and StreamEvents (``.type``, ``.content``, ``.terminal``, ``.delay_ms``,
``.raw``), never which OpenAI resource made them, so each one works on every endpoint's
stream alike. Only ``rate_limit`` keeps state (its token buckets, in
:mod:`mockserver.scenario.ratelimit`); ``probability`` and ``window`` are decided by the engine
before a fault runs.

Counting: ``after_events: N`` means N events of the stream (as it stands when the fault runs)
are sent first. Faults run in a fixed order whatever order a file lists them in: the rate
limiter, then faults that replace the reply (``http_error``, ``html_error``, ``hang``), then
faults that edit the event list, then timing (``slow``, ``stall``, ``buffered``, ``heartbeat``),
then the cuts (``truncate``, ``drop``, ``reset``), so a drop after 5 events counts the events
that really go out.

Stream-only faults (``error_event``, ``omit``, ``no_done``, ``duplicate``, ``out_of_order``,
``buffered``, ``heartbeat``) leave a non-streaming reply as it is.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields, replace
from http import HTTPStatus
from typing import Any, ClassVar

from .. import errors
from ..reply import DROPPED, RESET, TRUNCATED, Reply, StreamEvent
from . import checks as C
from .ratelimit import RateLimits
from .specs import FaultSpec, Window

# --- what a fault sees besides the reply -----------------------------------------------------


@dataclass(slots=True)
class FaultContext:
    rng: random.Random  # seeded by (server seed, scenario, session, attempt)
    key: tuple[str, str]  # (scenario, session)
    now_ms: float  # scenario ms on the server clock
    limits: RateLimits


# --- helpers on event lists ------------------------------------------------------------------


def pause(ms: float) -> StreamEvent:
    """Silence of ``ms`` with nothing written (delivery skips events whose raw bytes are empty)."""
    return StreamEvent(data="", raw=b"", type="pause", delay_ms=ms)


def before_terminal(events: list[StreamEvent]) -> list[StreamEvent]:
    return [e for e in events if not e.terminal]


def cut_after_ms(events: list[StreamEvent], ms: float) -> list[StreamEvent]:
    """The events whose send time is at or before ``ms``, then silence until ``ms``."""
    kept: list[StreamEvent] = []
    t = 0.0
    for ev in events:
        if t + ev.delay_ms > ms:
            break
        t += ev.delay_ms
        kept.append(ev)
    if ms > t:
        kept.append(pause(ms - t))
    return kept


def tokens_of(reply: Reply) -> int:
    """Tokens a reply costs: its API's own usage report when it has one, else its content
    events, at least 1."""
    total = reply.vocabulary.tokens(reply)
    if total:
        return total
    return max(1, sum(1 for e in reply.events or () if e.content))


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _error_object(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return errors.error_body(message, type_, None, code)["error"]


# --- declaring a fault -----------------------------------------------------------------------


def param(default: Any = None, *, check: Any, note: str = "", factory: Any = None) -> Any:
    """One field a scenario may give a fault: its default, the checker that validates it (and
    gives its JSON Schema), and what the faults table says of it beside its name."""
    meta = {"check": check, "note": note}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


FAULTS: dict[str, type[Fault]] = {}  # every fault by name, in the order they are defined


@dataclass(kw_only=True)
class Fault:
    """A fault is declared once, as a dataclass: its :func:`param` fields are what a scenario may
    give it (the schema, the JSON Schema and the faults table are derived from them), ``required``,
    ``one_of`` and ``any_of`` name fields a file must give, ``sees`` says what a client sees."""

    name: ClassVar[str] = ""
    sees: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    one_of: ClassVar[tuple[str, ...]] = ()  # exactly one of these
    any_of: ClassVar[tuple[str, ...]] = ()  # at least one of these
    order: ClassVar[int] = 50
    # replaces the whole reply (an error status, a hang): on a WebSocket that is the connection's
    # answer to the upgrade, never something to do to one response's events
    replaces_reply: ClassVar[bool] = False
    probability: float = 1.0
    window: Window | None = None
    index: int = 0  # position in its list, so two rate limiters keep separate buckets

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            FAULTS[cls.name] = cls

    @classmethod
    def params(cls) -> dict[str, Any]:
        """The fields a scenario may give, each with its checker (dataclass fields in order)."""
        return {f.name: f.metadata["check"] for f in fields(cls) if "check" in f.metadata}

    def fires(self, rng: random.Random, elapsed_ms: float) -> bool:
        if self.window is not None and not self.window.contains(elapsed_ms):
            return False
        return self.probability >= 1.0 or rng.random() < self.probability

    def apply(self, reply: Reply, fc: FaultContext) -> Reply:
        if reply.events is None:
            return self.on_body(reply, fc)
        return self.on_stream(reply, list(reply.events), fc)

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        return reply

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        return reply


@dataclass(kw_only=True)
class RateLimitFault(Fault):
    name: ClassVar[str] = "rate_limit"
    sees: ClassVar[str] = (
        "a token bucket per scenario and session; `x-ratelimit-*` headers on every reply, 429 with "
        "`retry-after` when empty"
    )
    any_of: ClassVar[tuple[str, ...]] = ("rpm", "tpm")
    order: ClassVar[int] = 5
    replaces_reply: ClassVar[bool] = True
    rpm: int | None = param(check=C.number(1, integer=True))
    tpm: int | None = param(check=C.number(1, integer=True))

    def apply(self, reply: Reply, fc: FaultContext) -> Reply:
        decision = fc.limits.take((*fc.key, self.index), self.rpm, self.tpm, tokens_of(reply), fc.now_ms)
        if decision.allowed:
            return replace(reply, headers={**reply.headers, **decision.headers})
        wait_ms = math.ceil(decision.retry_after_ms)
        err = errors.rate_limited(
            reply.model or "this model",
            decision.kind,
            decision.limit,
            decision.limit,
            retry_s=round(wait_ms / 1000.0, 3),
            requested=1 if decision.kind == "requests" else tokens_of(reply),
        )
        headers = {
            **decision.headers,
            "retry-after": str(max(1, math.ceil(wait_ms / 1000.0))),
            "retry-after-ms": str(wait_ms),
        }
        return Reply(status=429, headers=headers, body=err.body, model=reply.model, faults=reply.faults)


@dataclass(kw_only=True)
class HttpError(Fault):
    name: ClassVar[str] = "http_error"
    sees: ClassVar[str] = "an OpenAI-shaped error body; `retry-after`, `retry-after-ms`, `x-should-retry`"
    required: ClassVar[tuple[str, ...]] = ("status",)
    order: ClassVar[int] = 10
    replaces_reply: ClassVar[bool] = True
    status: int = param(500, check=C.number(100, 599, integer=True))
    message: str | None = param(check=C.string())
    code: str | None = param(check=C.string())
    type: str | None = param(check=C.string())
    retry_after: float | None = param(check=C.MS, note="s")
    retry_after_ms: float | None = param(check=C.MS)
    should_retry: bool | None = param(check=C.boolean)
    headers: dict[str, str] = param(check=C.headers, factory=dict)

    def response_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.retry_after is not None:
            out["retry-after"] = _seconds_text(self.retry_after)
        if self.retry_after_ms is not None:
            out["retry-after-ms"] = _seconds_text(self.retry_after_ms)
        if self.should_retry is not None:
            out["x-should-retry"] = "true" if self.should_retry else "false"
        out.update(self.headers)
        return out

    def apply(self, reply: Reply, fc: FaultContext) -> Reply:
        body = errors.for_status(self.status, self.message, self.code, self.type)
        return Reply(
            status=self.status,
            headers={**reply.headers, **self.response_headers()},
            body=body,
            model=reply.model,
            faults=reply.faults,
        )


NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n<center><h1>{status} "
    "{phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(kw_only=True)
class HtmlError(Fault):
    name: ClassVar[str] = "html_error"
    sees: ClassVar[str] = "a proxy's `text/html` error page"
    order: ClassVar[int] = 10
    replaces_reply: ClassVar[bool] = True
    status: int = param(502, check=C.number(100, 599, integer=True), note="502")
    body: str | None = param(check=C.string())

    def apply(self, reply: Reply, fc: FaultContext) -> Reply:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        page = self.body if self.body is not None else NGINX_PAGE.format(status=self.status, phrase=phrase)
        return Reply(
            status=self.status, body=page, content_type="text/html", model=reply.model, faults=reply.faults
        )


@dataclass(kw_only=True)
class Hang(Fault):
    name: ClassVar[str] = "hang"
    sees: ClassVar[str] = "the request is accepted and never answered"
    order: ClassVar[int] = 10
    replaces_reply: ClassVar[bool] = True

    def apply(self, reply: Reply, fc: FaultContext) -> Reply:
        return replace(reply, delay_ms=math.inf)


@dataclass(kw_only=True)
class ErrorEvent(Fault):
    name: ClassVar[str] = "error_event"
    sees: ClassVar[str] = "an in-band error after HTTP 200, shaped as each API sends it"
    order: ClassVar[int] = 30
    after_events: int = param(1, check=C.COUNT, note="1")
    message: str = param(
        "The server had an error while processing your request. Sorry about that!", check=C.string()
    )
    code: str = param("server_error", check=C.string())
    type: str = param("server_error", check=C.string())

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        body = before_terminal(events)
        kept = body[: self.after_events]
        err = reply.vocabulary.error_event(_error_object(self.message, self.type, self.code), kept)
        if len(body) > len(kept):
            err.delay_ms = body[len(kept)].delay_ms
        return replace(reply, events=[*kept, err])


@dataclass(kw_only=True)
class Omit(Fault):
    name: ClassVar[str] = "omit"
    sees: ClassVar[str] = "every event of those types is left out"
    required: ClassVar[tuple[str, ...]] = ("types",)
    order: ClassVar[int] = 30
    types: list[str] = param(check=C.string_list, factory=list)

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        drop = set(self.types)
        return replace(reply, events=[e for e in events if e.type not in drop and e.event not in drop])


@dataclass(kw_only=True)
class NoDone(Fault):
    name: ClassVar[str] = "no_done"
    sees: ClassVar[str] = "the stream's terminator (the event its API ends a stream with) is left out"
    order: ClassVar[int] = 30

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        return replace(reply, events=before_terminal(events))


@dataclass(kw_only=True)
class Malformed(Fault):
    name: ClassVar[str] = "malformed"
    sees: ClassVar[str] = "a frame whose data is not JSON"
    order: ClassVar[int] = 30
    after_events: int = param(1, check=C.COUNT, note="1")
    data: str | None = param(check=C.string())  # None: a frame of the reply's own API, cut short

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        n = min(self.after_events, len(events))
        nearby = events[min(n, len(events) - 1)] if events else None
        data = self.data if self.data is not None else reply.vocabulary.malformed
        bad = StreamEvent(data, event=nearby.event if nearby else None, type="malformed")
        return replace(reply, events=[*events[:n], bad, *events[n:]])

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        return replace(reply, body=self.data if self.data is not None else reply.vocabulary.malformed)


@dataclass(kw_only=True)
class Duplicate(Fault):
    name: ClassVar[str] = "duplicate"
    sees: ClassVar[str] = "one event repeated"
    order: ClassVar[int] = 30
    after_events: int = param(1, check=C.COUNT, note="1")
    count: int = param(1, check=C.number(1, 1000, integer=True), note="1")

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        body = before_terminal(events)
        if not body:
            return reply
        i = min(self.after_events, len(body) - 1)
        i = events.index(body[i])
        copies = [replace(events[i], delay_ms=0.0) for _ in range(self.count)]
        return replace(reply, events=[*events[: i + 1], *copies, *events[i + 1 :]])


@dataclass(kw_only=True)
class OutOfOrder(Fault):
    """Swap two neighbouring events (by default the first two content events), timings kept."""

    name: ClassVar[str] = "out_of_order"
    sees: ClassVar[str] = "two neighbouring events swapped"
    order: ClassVar[int] = 30
    after_events: int | None = param(check=C.COUNT, note="first content event")

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        i = self.after_events
        if i is None:
            i = next((k for k, e in enumerate(events) if e.content), 0)
        if i + 1 >= len(events) or events[i + 1].terminal:
            return reply
        a, b = events[i], events[i + 1]
        events[i], events[i + 1] = replace(b, delay_ms=a.delay_ms), replace(a, delay_ms=b.delay_ms)
        return replace(reply, events=events)


DISTRIBUTIONS = ("fixed", "uniform", "normal", "lognormal")


def draw(rng: random.Random, mean_ms: float, jitter_ms: float, distribution: str) -> float:
    """One delay: ``fixed`` (exact), ``uniform`` (mean ± jitter), ``normal`` (sd = jitter),
    ``lognormal`` (median = mean, sigma = jitter / mean). Never negative."""
    if distribution == "uniform":
        value = rng.uniform(mean_ms - jitter_ms, mean_ms + jitter_ms)
    elif distribution == "normal":
        value = rng.gauss(mean_ms, jitter_ms)
    elif distribution == "lognormal":
        value = rng.lognormvariate(math.log(mean_ms), jitter_ms / mean_ms) if mean_ms > 0 else 0.0
    else:
        value = mean_ms
    return max(0.0, value)


@dataclass(kw_only=True)
class Slow(Fault):
    name: ClassVar[str] = "slow"
    sees: ClassVar[str] = "delays drawn from a seeded distribution"
    order: ClassVar[int] = 50
    ttft_ms: float | None = param(check=C.MS)
    inter_token_ms: float | None = param(check=C.MS)
    jitter_ms: float = param(0.0, check=C.MS)
    # default: uniform with jitter, fixed without
    distribution: str | None = param(
        check=C.choice(DISTRIBUTIONS), note=", ".join(f"`{d}`" for d in DISTRIBUTIONS)
    )

    def _draw(self, rng: random.Random, mean: float) -> float:
        dist = self.distribution or ("uniform" if self.jitter_ms else "fixed")
        return draw(rng, mean, self.jitter_ms, dist)

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        first = next((k for k, e in enumerate(events) if e.content), None)
        out = []
        for k, ev in enumerate(events):
            delay = ev.delay_ms
            if self.ttft_ms is not None and (first is None or k <= first):
                delay = self._draw(fc.rng, self.ttft_ms) if k == 0 else 0.0
            elif self.inter_token_ms is not None and first is not None and k > first and ev.content:
                delay = self._draw(fc.rng, self.inter_token_ms)
            out.append(ev if delay == ev.delay_ms else replace(ev, delay_ms=delay))
        return replace(reply, events=out)

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        if self.ttft_ms is None:
            return reply
        return replace(reply, delay_ms=self._draw(fc.rng, self.ttft_ms))


@dataclass(kw_only=True)
class Stall(Fault):
    name: ClassVar[str] = "stall"
    sees: ClassVar[str] = "silence before the next event"
    required: ClassVar[tuple[str, ...]] = ("duration_ms",)
    order: ClassVar[int] = 55
    after_events: int = param(1, check=C.COUNT, note="1")
    duration_ms: float = param(0.0, check=C.MS)

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        n = self.after_events
        if n < len(events):
            events[n] = replace(events[n], delay_ms=events[n].delay_ms + self.duration_ms)
        else:
            events.append(pause(self.duration_ms))
        return replace(reply, events=events)

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        return replace(reply, delay_ms=reply.delay_ms + self.duration_ms)


@dataclass(kw_only=True)
class Buffered(Fault):
    """A proxy that holds the whole stream and lets it go at once when it ends."""

    name: ClassVar[str] = "buffered"
    sees: ClassVar[str] = "a buffering proxy: every event arrives at once at the end"
    order: ClassVar[int] = 60

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        total = sum(e.delay_ms for e in events)
        out = [replace(e, delay_ms=0.0) for e in events if e.raw != b""]
        if out:
            out[0].delay_ms = total
        return replace(reply, events=out)


@dataclass(kw_only=True)
class Heartbeat(Fault):
    """Comment lines while a wait lasts longer than ``interval_ms``; ``interval_ms: null`` turns
    them off (a server whose heartbeats stopped)."""

    name: ClassVar[str] = "heartbeat"
    sees: ClassVar[str] = "SSE comment lines while a wait lasts longer than the interval"
    order: ClassVar[int] = 65
    interval_ms: float | None = param(15_000.0, check=C.optional_interval, note="15000; `null`: none")
    text: str = param("keep-alive", check=C.string())

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        return replace(reply, heartbeat_ms=self.interval_ms or None, heartbeat_text=self.text)


@dataclass(kw_only=True)
class Truncate(Fault):
    name: ClassVar[str] = "truncate"
    sees: ClassVar[str] = "the next frame is cut in half, then the connection closes"
    order: ClassVar[int] = 80
    after_events: int = param(1, check=C.COUNT, note="1")

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        n = min(self.after_events, len(events))
        kept = events[:n]
        if n < len(events):
            nxt = events[n]
            frame = nxt.encode()
            kept.append(replace(nxt, raw=frame[: max(1, len(frame) // 2)], terminal=False))
        return replace(reply, events=kept, ending=TRUNCATED)

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        return replace(reply, ending=TRUNCATED)


@dataclass(kw_only=True)
class Drop(Fault):
    """The connection closes (FIN) without the stream's terminator."""

    name: ClassVar[str] = "drop"
    sees: ClassVar[str] = "the connection closes without the stream's terminator"
    one_of: ClassVar[tuple[str, ...]] = ("after_events", "after_ms")
    order: ClassVar[int] = 85
    ending: ClassVar[str] = DROPPED
    after_events: int | None = param(check=C.COUNT)
    after_ms: float | None = param(check=C.MS)

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        body = before_terminal(events)
        if self.after_events is not None:
            kept = body[: self.after_events]
        else:
            kept = cut_after_ms(body, self.after_ms or 0.0)
        return replace(reply, events=kept, ending=self.ending)

    def on_body(self, reply: Reply, fc: FaultContext) -> Reply:
        delay = self.after_ms if self.after_ms is not None else reply.delay_ms
        return replace(reply, ending=self.ending, delay_ms=delay)


@dataclass(kw_only=True)
class Reset(Drop):
    """A TCP reset (RST); ``after_events: 0`` (or ``after_ms: 0``) resets before any byte."""

    name: ClassVar[str] = "reset"
    sees: ClassVar[str] = "a TCP reset; `0` resets before any byte"
    ending: ClassVar[str] = RESET

    def on_stream(self, reply: Reply, events: list[StreamEvent], fc: FaultContext) -> Reply:
        if self.after_events == 0 or self.after_ms == 0:
            return replace(reply, events=None, body=None, ending=RESET)
        return super().on_stream(reply, events, fc)


def build(spec: FaultSpec, index: int = 0) -> Fault:
    """A fault object from its validated spec."""
    return FAULTS[spec.name](**spec.params, probability=spec.probability, window=spec.window, index=index)


def build_all(specs: list[FaultSpec], start: int = 0) -> list[Fault]:
    """Faults in the order they run (see the module docstring)."""
    faults = [build(s, start + i) for i, s in enumerate(specs)]
    return sorted(faults, key=lambda f: f.order)

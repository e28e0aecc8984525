"""The scenario's faults applied to a LIVE stream, event by event as the upstream sends them
(``mockopenai serve --upstream``).

The faults are the objects of :mod:`mockserver.scenario.faults`, with their own parameters; this
module only gives each one a streaming form: a stage that reads events as they arrive and
yields what the client gets, in the order the faults always run (event edits, then timing, then
the cuts), so ``drop: {after_events: 5}`` counts the events that really go out and a stall waits
on the live stream. What a fault cannot do live it does as closely as time allows: ``slow`` can
make an answer later, never earlier (``ttft_ms`` is the earliest the first event goes out,
``inter_token_ms`` the least gap between two content events).

A stage yields :class:`~mockserver.reply.StreamEvent` items and, last, possibly one :class:`Cut`
(how the stream ends when it does not end normally). The faults that replace the whole answer
(``http_error``, ``html_error``, ``hang``, ``rate_limit``'s 429, ``reset`` before any byte) act
before the upstream is called: see :mod:`mockserver.upstream_proxy`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from . import errors
from .clock import Clock
from .reply import DROPPED, RESET, TRUNCATED, StreamEvent, Vocabulary
from .scenario import faults as F

Item = StreamEvent  # or a Cut, always last


@dataclass(frozen=True, slots=True)
class Cut:
    ending: str  # dropped, reset, truncated (from reply.py)


@dataclass(slots=True)
class Live:
    """What the stages of one request share."""

    clock: Clock
    t0: float  # the request's arrival (monotonic seconds)
    vocabulary: Vocabulary
    rng: random.Random
    heartbeat_ms: float | None = None  # comment lines while a wait lasts longer than this
    heartbeat_text: str = "keep-alive"
    stalled: bool = False

    async def sleep_ms(self, ms: float) -> None:
        await Clock.sleep_real(self.clock.seconds(ms))

    async def not_before_ms(self, ms: float, since: float) -> None:
        await Clock.sleep_until(since + self.clock.seconds(ms))


Source = AsyncIterator["Item | Cut"]


async def _error_event(src: Source, f: F.ErrorEvent, live: Live) -> Source:
    error = errors.error_body(f.message, f.type, None, f.code)["error"]
    sent: list[StreamEvent] = []  # the error continues their numbering (Responses' sequence_number)
    async for ev in src:
        if isinstance(ev, Cut):
            yield ev
            return
        if ev.terminal or len(sent) >= f.after_events:
            yield live.vocabulary.error_event(error, sent)
            return
        sent.append(ev)
        yield ev
    yield live.vocabulary.error_event(error, sent)


async def _omit(src: Source, f: F.Omit, live: Live) -> Source:
    drop = set(f.types)
    async for ev in src:
        if isinstance(ev, Cut) or (ev.type not in drop and ev.event not in drop):
            yield ev


async def _no_done(src: Source, f: F.NoDone, live: Live) -> Source:
    async for ev in src:
        if isinstance(ev, Cut) or not ev.terminal:
            yield ev


async def _malformed(src: Source, f: F.Malformed, live: Live) -> Source:
    data = f.data if f.data is not None else live.vocabulary.malformed
    n, done = 0, False
    async for ev in src:
        if not done and (isinstance(ev, Cut) or n >= f.after_events):
            yield StreamEvent(data, event=None if isinstance(ev, Cut) else ev.event, type="malformed")
            done = True
        yield ev
        n += 1
    if not done:
        yield StreamEvent(data, type="malformed")


async def _duplicate(src: Source, f: F.Duplicate, live: Live) -> Source:
    i, done, last = 0, False, None
    async for ev in src:
        if not isinstance(ev, Cut) and ev.terminal and not done and last is not None:
            for _ in range(f.count):
                yield replace(last, delay_ms=0.0)
            done = True
        yield ev
        if isinstance(ev, Cut) or ev.terminal:
            continue
        if not done and i == f.after_events:
            for _ in range(f.count):
                yield replace(ev, delay_ms=0.0)
            done = True
        last, i = ev, i + 1


async def _out_of_order(src: Source, f: F.OutOfOrder, live: Live) -> Source:
    k, held, swapped = 0, None, False
    async for ev in src:
        if held is not None:
            if isinstance(ev, Cut) or ev.terminal:
                yield held
                yield ev
            else:
                yield ev
                yield held
            held = None
            k += 1
            continue
        if isinstance(ev, Cut):
            yield ev
            continue
        target = (k == f.after_events) if f.after_events is not None else ev.content
        if target and not swapped:
            held, swapped = ev, True
        else:
            yield ev
        k += 1
    if held is not None:
        yield held


async def _slow(src: Source, f: F.Slow, live: Live) -> Source:
    dist = f.distribution or ("uniform" if f.jitter_ms else "fixed")
    ttft = F.draw(live.rng, f.ttft_ms, f.jitter_ms, dist) if f.ttft_ms is not None else None
    seen_content = False
    last_content: float | None = None
    async for ev in src:
        if isinstance(ev, Cut):
            yield ev
            return
        if ttft is not None and not seen_content:
            await live.not_before_ms(ttft, live.t0)
        elif f.inter_token_ms is not None and seen_content and ev.content and last_content is not None:
            await live.not_before_ms(F.draw(live.rng, f.inter_token_ms, f.jitter_ms, dist), last_content)
        if ev.content:
            seen_content = True
            last_content = Clock.monotonic()
        yield ev


async def _stall(src: Source, f: F.Stall, live: Live) -> Source:
    n, done = 0, False
    async for ev in src:
        if not done and (isinstance(ev, Cut) or n == f.after_events):
            await live.sleep_ms(f.duration_ms)
            done = live.stalled = True
        yield ev
        n += 1
    if not done:
        await live.sleep_ms(f.duration_ms)
        live.stalled = True


async def _buffered(src: Source, f: F.Buffered, live: Live) -> Source:
    held = [ev async for ev in src]
    for ev in held:
        yield ev


async def _heartbeat(src: Source, f: F.Heartbeat, live: Live) -> Source:
    live.heartbeat_ms, live.heartbeat_text = f.interval_ms or None, f.text
    async for ev in src:
        if f.interval_ms is None and not isinstance(ev, Cut) and ev.type == "comment":
            continue  # a server whose heartbeats stopped: the upstream's own are gone too
        yield ev


async def _truncate(src: Source, f: F.Truncate, live: Live) -> Source:
    n = 0
    async for ev in src:
        if isinstance(ev, Cut):
            break
        if n >= f.after_events:
            frame = ev.encode()
            yield replace(ev, raw=frame[: max(1, len(frame) // 2)], terminal=False)
            break
        n += 1
        yield ev
    yield Cut(TRUNCATED)


async def _until(src: Source, deadline: float) -> Source:
    """The items of ``src`` that arrive before monotonic time ``deadline``."""
    queue: asyncio.Queue = asyncio.Queue()
    end = object()

    async def pump() -> None:
        try:
            async for item in src:
                await queue.put(item)
        finally:
            await queue.put(end)

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), max(0.0, deadline - Clock.monotonic()))
            except TimeoutError:
                return
            if item is end:
                return
            yield item
    finally:
        task.cancel()


async def _drop(src: Source, f: F.Drop, live: Live) -> Source:
    ending = f.ending
    if f.after_events is None:
        src = _until(src, live.t0 + live.clock.seconds(f.after_ms or 0.0))
    n = 0
    async for ev in src:
        if isinstance(ev, Cut):
            break
        if ev.terminal:
            continue  # the terminator never comes: the connection goes first
        if f.after_events is not None and n >= f.after_events:
            break
        n += 1
        yield ev
    yield Cut(ending if ending in (DROPPED, RESET) else DROPPED)


STAGES: dict[type[F.Fault], Callable[..., Source]] = {
    F.ErrorEvent: _error_event,
    F.Omit: _omit,
    F.NoDone: _no_done,
    F.Malformed: _malformed,
    F.Duplicate: _duplicate,
    F.OutOfOrder: _out_of_order,
    F.Slow: _slow,
    F.Stall: _stall,
    F.Buffered: _buffered,
    F.Heartbeat: _heartbeat,
    F.Truncate: _truncate,
    F.Drop: _drop,
    F.Reset: _drop,
}


def before_upstream(fault: F.Fault) -> bool:
    """A fault that answers instead of the upstream (which is then not called)."""
    if fault.replaces_reply:
        return True
    return isinstance(fault, F.Reset) and (fault.after_events == 0 or fault.after_ms == 0)


def apply(src: Source, faults: list[F.Fault], live: Live) -> Source:
    """``src`` with every stream fault applied, in the order faults run."""
    for fault in sorted(faults, key=lambda x: x.order):
        stage = STAGES.get(type(fault))
        if stage is not None:
            src = stage(src, fault, live)
    return src

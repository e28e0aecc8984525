"""An event debugger for streams (seed 002): counts by type, gaps over a threshold, errors.

Wrap any async iterable of SDK events; it passes every event through unchanged and keeps a
:class:`StreamDebugReport`, which it also logs when the stream ends (normally or not).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("harness.connectors.debug")


def event_type(event: Any) -> str:
    """``type`` for Responses/Images events, ``object`` for chat chunks, else the class name."""
    for attr in ("type", "object"):
        value = getattr(event, attr, None)
        if isinstance(value, str) and value:
            return value
    if isinstance(event, dict):
        return str(event.get("type") or event.get("object") or "unknown")
    return type(event).__name__


@dataclass(frozen=True, slots=True)
class Gap:
    before_event: int  # index of the event that ended the gap
    event_type: str
    ms: float


@dataclass
class StreamDebugReport:
    counts: Counter[str] = field(default_factory=Counter)
    gaps: list[Gap] = field(default_factory=list)  # only those over the threshold
    errors: list[str] = field(default_factory=list)  # error events and the exception that ended it
    events: int = 0
    max_gap_ms: float = 0.0

    def summary(self) -> str:
        lines = ["=== Stream event summary ==="]
        lines += [f"{name}: {n} events" for name, n in sorted(self.counts.items())]
        lines += [f"gap of {g.ms:.0f} ms before event #{g.before_event} ({g.event_type})" for g in self.gaps]
        lines += [f"error: {e}" for e in self.errors]
        return "\n".join(lines)


class StreamEventDebugger:
    """Counts events by type and reports gaps longer than ``gap_threshold_ms``.

    ``clock`` returns seconds (monotonic); tests pass a fake one.
    """

    def __init__(
        self, gap_threshold_ms: float = 30_000.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.gap_threshold_ms = gap_threshold_ms
        self.clock = clock
        self.report = StreamDebugReport()
        self._last: float | None = None

    def start(self) -> None:
        self._last = self.clock()

    def record(self, event: Any) -> None:
        now = self.clock()
        kind = event_type(event)
        r = self.report
        if self._last is not None:
            gap = (now - self._last) * 1000
            r.max_gap_ms = max(r.max_gap_ms, gap)
            if gap > self.gap_threshold_ms:
                r.gaps.append(Gap(r.events, kind, gap))
                log.warning("long gap between events: %.0f ms before %s", gap, kind)
        self._last = now
        r.events += 1
        r.counts[kind] += 1
        if kind == "error" or kind.endswith(".failed"):
            r.errors.append(f"{kind} event: {_error_text(event)}")

    async def wrap(self, stream: AsyncIterable[Any]) -> AsyncIterator[Any]:
        self.start()
        try:
            async for event in stream:
                self.record(event)
                yield event
        except Exception as exc:
            self.report.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            log.info("%s", self.report.summary())


def _error_text(event: Any) -> str:
    for attr in ("message", "error"):
        value = getattr(event, attr, None)
        if value:
            return str(value)
    response = getattr(event, "response", None)
    err = getattr(response, "error", None)
    return str(err) if err else "no message"

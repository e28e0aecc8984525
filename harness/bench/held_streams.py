"""Held streams: what each of many long-silent gateway streams saw of the heartbeat (pure, no I/O).

The gateway opens a stream with ``: Connected to chat stream`` and then, until ``done``, writes
``: heartbeat <epoch ms>`` every ``OPENAI_SSE_HEARTBEAT_MS``. While the upstream is silent those
comments are all that keeps a proxy from closing the connection, so what counts is the longest
silence a client saw: between the connected comment and the first heartbeat, between two
heartbeats, and between the last heartbeat and the first token.

* :class:`HeartbeatTap` records, for one stream, when the connected comment and each heartbeat
  arrived (client clock) and the epoch milliseconds each heartbeat carries (the gateway's clock);
* :class:`HeldStream` is one stream of a run: when it was sent, its tap, its outcome;
* :func:`held_figures` turns the streams of a run into the figures the report prints.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.gateway.web_sse import CONNECTED
from harness.load.stats import percentile
from harness.load.stream_watch import StreamOutcome
from servekit.sse import Frame

HEARTBEAT = "heartbeat"
# A heartbeat is on time when no silence a client sees exceeds the interval by more than 20 %
# (600 ms at a 500 ms interval, 12 s at the default 10 s): late enough to be a real delay, early
# enough that a proxy idle timeout set just above the interval still never fires.
ON_TIME_FACTOR = 1.2


@dataclass(slots=True)
class HeartbeatTap:
    """Fed every frame of one stream with its arrival time (ms since the request was sent)."""

    connected_ms: float | None = None
    heartbeats_ms: list[float] = field(default_factory=list)
    stamps_ms: list[int] = field(default_factory=list)  # the epoch ms each heartbeat carries

    def __call__(self, frame: Frame, t_ms: float) -> None:
        text = frame.comment
        if text is None:
            return
        if text == CONNECTED and self.connected_ms is None:
            self.connected_ms = t_ms
        elif text.startswith(HEARTBEAT):
            self.heartbeats_ms.append(t_ms)
            stamp = text.removeprefix(HEARTBEAT).strip()
            if stamp.isdigit():
                self.stamps_ms.append(int(stamp))


@dataclass(slots=True)
class HeldStream:
    started_s: float  # perf_counter seconds when the request was sent (the run's common clock)
    tap: HeartbeatTap
    outcome: StreamOutcome

    @property
    def opened(self) -> bool:
        return self.outcome.status == 200 and self.tap.connected_ms is not None

    def heartbeat_gaps_ms(self) -> list[float]:
        """Connected comment → first heartbeat, then heartbeat → heartbeat, as the client saw them."""
        if self.tap.connected_ms is None:
            return []
        marks = [self.tap.connected_ms, *self.tap.heartbeats_ms]
        return [b - a for a, b in zip(marks, marks[1:], strict=False)]

    def stamp_gaps_ms(self) -> list[float]:
        """Heartbeat → heartbeat by the epoch stamps the gateway wrote into them."""
        s = self.tap.stamps_ms
        return [float(b - a) for a, b in zip(s, s[1:], strict=False)]

    def heartbeats_before_first_token(self) -> int:
        ttft = self.outcome.ttft_ms
        return sum(1 for t in self.tap.heartbeats_ms if ttft is None or t < ttft)

    def silence_before_first_token_ms(self) -> float | None:
        """The longest gap between the connected comment, the heartbeats, and the first token."""
        ttft = self.outcome.ttft_ms
        if self.tap.connected_ms is None or ttft is None:
            return None
        marks = [self.tap.connected_ms, *(t for t in self.tap.heartbeats_ms if t < ttft), ttft]
        return max(b - a for a, b in zip(marks, marks[1:], strict=False))

    def span_s(self) -> tuple[float, float] | None:
        """(opened, ended) on the run's common clock, for an opened stream."""
        if self.tap.connected_ms is None:
            return None
        return (
            self.started_s + self.tap.connected_ms / 1000.0,
            self.started_s + self.outcome.total_ms / 1000.0,
        )


def peak_open(streams: list[HeldStream]) -> int:
    """The most streams open at the same instant (an end at the same instant as a start goes first)."""
    edges = sorted(
        (t, delta) for s in streams if (span := s.span_s()) for t, delta in ((span[0], 1), (span[1], -1))
    )
    open_now = peak = 0
    for _, delta in edges:
        open_now += delta
        peak = max(peak, open_now)
    return peak


def _p(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 3)


def _max(values: list[float]) -> float | None:
    return round(max(values), 3) if values else None


def held_figures(streams: list[HeldStream], interval_ms: float, ttft_ms: float) -> dict[str, Any]:
    """Opened, completed, dropped, held at once; heartbeat gaps against the interval."""
    limit_ms = interval_ms * ON_TIME_FACTOR
    opened = [s for s in streams if s.opened]
    completed = [s for s in opened if s.outcome.ok]
    gaps = [g for s in opened for g in s.heartbeat_gaps_ms()]
    first_gaps = [g[0] for s in opened if (g := s.heartbeat_gaps_ms())]
    stamp_gaps = [g for s in opened for g in s.stamp_gaps_ms()]
    silences = [v for s in opened if (v := s.silence_before_first_token_ms()) is not None]
    before_token = [s.heartbeats_before_first_token() for s in opened]
    late = [
        s
        for s in opened
        if max(s.heartbeat_gaps_ms(), default=0.0) > limit_ms
        or (s.silence_before_first_token_ms() or 0.0) > limit_ms
    ]
    starts = [s.started_s for s in streams]
    opens = [span[0] for s in opened if (span := s.span_s())]
    return {
        "requested": len(streams),
        "opened": len(opened),
        "completed": len(completed),
        "dropped": len(opened) - len(completed),
        "not_opened": len(streams) - len(opened),
        "failure_reasons": dict(
            Counter(
                (s.outcome.failure or "no connected comment").split(":")[0]
                for s in streams
                if not s.outcome.ok
            )
        ),
        "peak_open": peak_open(streams),
        "open_spread_ms": round((max(opens) - min(starts)) * 1000.0, 1) if opens else None,
        "interval_ms": interval_ms,
        "on_time_limit_ms": round(limit_ms, 3),
        "scenario_ttft_ms": ttft_ms,
        "gap_p50": _p(gaps, 50),
        "gap_p99": _p(gaps, 99),
        "gap_max": _max(gaps),
        "first_gap_p50": _p(first_gaps, 50),
        "first_gap_max": _max(first_gaps),
        "stamp_gap_p99": _p(stamp_gaps, 99),
        "stamp_gap_max": _max(stamp_gaps),
        "heartbeats": len(gaps),
        "heartbeats_before_token_min": min(before_token, default=None),
        # heartbeats due strictly before the first token when the stream opens as the call starts
        "heartbeats_before_token_expected": max(0, math.ceil(ttft_ms / interval_ms) - 1),
        "streams_without_heartbeat_before_token": sum(1 for n in before_token if n == 0),
        "silence_before_token_p99": _p(silences, 99),
        "silence_before_token_max": _max(silences),
        "late_streams": len(late),
        "ttft_p50": _p([s.outcome.ttft_ms for s in completed if s.outcome.ttft_ms is not None], 50),
    }

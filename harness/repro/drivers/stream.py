"""``stack.drive: stream``: the resilient stream client of seed 002 with its debugger and metrics.

``stack.input``: ``api`` (chat | responses), ``background`` (Responses only: resumable),
``model``, ``message``. ``stack.settings`` (scenario time): ``backoff_initial_ms``,
``backoff_max_ms``, ``max_reconnects``, ``gap_threshold_ms`` (default 30000, the seed's).
Facts under ``stream``: outcome (complete|error), text, reconnects, reconnect_kinds, restarts,
error, events, counts (by type), long_gaps (gaps over the threshold), max_gap_ms (scenario
time), chunks, bytes, duplicate_sequence_numbers (delivered more than once: must be 0), and with the setting
``count_retained_objects: true`` sdk_objects_retained (SDK
objects still held once the stream is over, while the client, debugger and metrics are alive:
a client that keeps every event is the "memory grows" symptom).
"""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import openai

from harness.connectors import (
    Backoff,
    ResilientStream,
    StreamEventDebugger,
    StreamMetrics,
    StreamRestarted,
)

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError
from . import error_text

DEFAULTS = {
    "backoff_initial_ms": 1000,
    "backoff_max_ms": 8000,
    "max_reconnects": 3,
    "gap_threshold_ms": 30_000,
    "timeout_ms": 600_000,
}


def sdk_objects_alive() -> int:
    """How many of the SDK's response objects (chunks, events and their parts) are alive now."""
    gc.collect()
    # type(), not isinstance(): the SDK's lazy module proxies import on any __class__ lookup
    return sum(1 for o in gc.get_objects() if issubclass(type(o), openai.BaseModel))


def _text_of(event: Any) -> str:
    if getattr(event, "type", None) == "response.output_text.delta":
        return event.delta
    return "".join(c.delta.content or "" for c in getattr(event, "choices", None) or ())


async def run(ctx: RunContext) -> StackRun:
    inp, settings = ctx.input, ctx.settings(DEFAULTS)
    api = inp.get("api", "chat")
    if api not in ("chat", "responses"):
        raise ScenarioFileError(
            f"{ctx.scenario.path}: stack.input.api: expected chat or responses, got {api!r}"
        )
    backoff = Backoff(
        initial_ms=settings["backoff_initial_ms"],
        max_ms=settings["backoff_max_ms"],
        max_retries=int(settings["max_reconnects"]),
    )
    client = openai.AsyncOpenAI(
        base_url=ctx.url(inp.get("base_url")),
        api_key="sk-repro",
        max_retries=0,
        timeout=settings["timeout_ms"] / 1000,
    )
    model, message = inp.get("model", "gpt-4o-mini"), inp.get("message", "Tell me a long story.")
    if api == "chat":
        stream = ResilientStream.chat(
            client, backoff=backoff, model=model, messages=[{"role": "user", "content": message}]
        )
    else:
        stream = ResilientStream.responses(
            client, backoff=backoff, model=model, input=message, background=bool(inp.get("background", False))
        )
    debugger = StreamEventDebugger(gap_threshold_ms=settings["gap_threshold_ms"])
    metrics = StreamMetrics()
    text: list[str] = []
    sequence = Counter()
    restarts = 0
    facts: dict[str, Any] = {}
    lines = [
        f"resilient {api} stream{' (background)' if inp.get('background') else ''}: "
        f"backoff {backoff.initial_ms:g} ms x{backoff.multiplier:g}, {backoff.max_retries} reconnects"
    ]
    count_retained = bool(settings.get("count_retained_objects"))
    alive_before = sdk_objects_alive() if count_retained else 0
    try:
        async for event in metrics.wrap(debugger.wrap(stream)):
            if isinstance(event, StreamRestarted):
                restarts += 1
                text.clear()
                lines.append(
                    f"restarted (retry {event.retry}): {event.reason}; "
                    f"discarded {event.discarded_events} events"
                )
                continue
            seq = getattr(event, "sequence_number", None)
            if isinstance(seq, int):
                sequence[seq] += 1
            text.append(_text_of(event))
        facts["outcome"] = "complete"
    except Exception as exc:  # what the client gave up with is the observation
        facts.update(outcome="error", error=error_text(exc))
        lines.append(f"gave up: {facts['error']}")
    finally:
        await client.close()
    report, snap = debugger.report, metrics.snapshot()
    for rec in stream.reconnects:
        after = f" starting_after={rec.starting_after}" if rec.starting_after is not None else ""
        lines.append(
            f"reconnect {rec.retry}: {rec.kind}{after} after {ctx.scenario_ms(rec.delay_ms / 1000):.0f} "
            f"ms (scenario time): {rec.reason}"
        )
    lines += report.summary().splitlines()
    lines.append(f"metrics: {snap.format()}")
    facts.update(
        text="".join(text),
        reconnects=len(stream.reconnects),
        reconnect_kinds=[r.kind for r in stream.reconnects],
        restarts=restarts,
        events=report.events,
        counts=dict(report.counts),
        long_gaps=len(report.gaps),
        max_gap_ms=ctx.scenario_ms(report.max_gap_ms / 1000),
        chunks=snap.chunks,
        bytes=snap.bytes,
        duplicate_sequence_numbers=sum(1 for n in sequence.values() if n > 1),
        stream_errors=list(report.errors),
    )
    # the stream, its debugger and its metrics are all still referenced here: whatever SDK object
    # outlives the loop is held by one of them
    event = None
    if count_retained:
        facts["sdk_objects_retained"] = max(0, sdk_objects_alive() - alive_before)
        lines.append(f"SDK objects still held after the stream: {facts['sdk_objects_retained']}")
    return StackRun({"stream": facts}, lines)

"""``stack.drive: realtime``: the realtime voice client of seed 003 over the SDK's WebSocket connection.

``stack.input``: ``model``, ``voice``, ``turns`` (how many spoken turns, default 1), ``input_ms``
(microphone audio per turn, default 600), ``base_url`` (see :meth:`RunContext.url`), and
``health_check: true`` to check the endpoint first (connect, ``session.created``, close).
``stack.settings`` (scenario time): ``backoff_initial_ms``, ``backoff_max_ms``, ``max_attempts``,
``jitter``, ``idle_timeout_ms``, ``connect_timeout_ms``, ``jitter_buffer_ms``.

Facts under ``realtime``: outcome (complete | gave_up | error), error (what the client raised),
attempts, connected_attempts, reconnects, waits_ms (each wait before a reconnect, scenario ms)
with min_wait_ms, max_wait_ms and total_wait_ms, failures (what ended each failed attempt), responses (finished), dropped_responses (cut off by a
lost connection), audio_chunks, audio_ms, transcript,
silent_responses (finished with a transcript but no playable audio) and their
silent_transcripts, underruns, gap_ms,
late_chunks (for a response already done), chunks_after_close, unplayed_ms_at_close, input_chunks, errors, event_counts, elapsed_ms
(scenario time), and with the health check ``health`` {verdict, message, detail}.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from harness.connectors.realtime_audio import DROPPED, tone_pcm16
from harness.connectors.realtime_backoff import ReconnectPolicy
from harness.connectors.realtime_client import RealtimeSessionError, RealtimeVoiceClient
from harness.connectors.realtime_health import check_realtime
from harness.connectors.realtime_result import RealtimeSessionResult

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError
from . import error_text

DEFAULTS: dict[str, Any] = {
    "backoff_initial_ms": 500,
    "backoff_max_ms": 8000,
    "max_attempts": 5,
    "jitter": 0.2,
    "idle_timeout_ms": 30_000,
    "connect_timeout_ms": 30_000,
    "jitter_buffer_ms": 80,
}


def session_facts(result: RealtimeSessionResult) -> dict[str, Any]:
    """The client's result as ``expect.realtime`` keys. Pure."""
    playback = result.playback
    return {
        "outcome": result.outcome,
        "attempts": len(result.attempts),
        "connected_attempts": result.connected_attempts,
        "reconnects": result.reconnects,
        "waits_ms": result.waits_ms,
        "min_wait_ms": min(result.waits_ms, default=None),
        "max_wait_ms": max(result.waits_ms, default=None),
        "total_wait_ms": round(sum(result.waits_ms), 1),
        "failures": [a.failure for a in result.attempts if a.failure],
        "responses": len(result.responses),
        "dropped_responses": sum(1 for r in playback.responses if r.status == DROPPED),
        "audio_chunks": result.audio_chunks,
        "audio_ms": result.audio_ms,
        "transcript": result.transcript,
        "silent_responses": result.silent_responses,
        "silent_transcripts": [r.transcript for r in playback.silent_responses],
        "underruns": playback.underruns,
        "gap_ms": round(playback.gap_ms, 1),
        "late_chunks": playback.late_chunks,
        "chunks_after_close": playback.chunks_after_close,
        "unplayed_ms_at_close": round(playback.unplayed_ms_at_close, 1),
        "input_chunks": result.input_chunks,
        "errors": list(result.errors),
        "event_counts": dict(result.event_counts),
    }


def _lines(result: RealtimeSessionResult) -> list[str]:
    lines = []
    for a in result.attempts:
        how = "connected" if a.connected else "did not connect"
        end = f", ended: {a.failure}" if a.failure else ""
        lines.append(f"attempt {a.number} after {a.waited_ms:.0f} ms (scenario time): {how}{end}")
    for r in result.playback.responses:
        lines.append(
            f"response {r.response_id} [{r.status}]: {r.chunks} audio chunk(s), {r.audio_ms:.0f} ms, "
            f"transcript {r.transcript!r}{' — NO PLAYABLE AUDIO' if r.silent else ''}"
        )
    lines.append(result.summary())
    return lines


def _number(settings: dict[str, Any], key: str, where: str) -> float:
    value = settings[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioFileError(f"{where}: stack.settings.{key}: expected a number, got {value!r}")
    return float(value)


async def run(ctx: RunContext) -> StackRun:
    inp, where = ctx.input, str(ctx.scenario.path)
    settings = {**DEFAULTS, **ctx.scenario.settings}  # scenario ms: the client applies the time scale
    num = {k: _number(settings, k, where) for k in DEFAULTS}
    try:
        turns, input_ms = int(inp.get("turns", 1)), float(inp.get("input_ms", 600))
        if turns < 1 or input_ms <= 0:
            raise ValueError(f"turns must be >= 1 and input_ms > 0, got {turns} and {input_ms:g}")
        policy = ReconnectPolicy.of(
            initial_ms=num["backoff_initial_ms"],
            max_ms=num["backoff_max_ms"],
            max_attempts=int(num["max_attempts"]),
            jitter=num["jitter"],
            seed=0,
        )
    except (TypeError, ValueError) as exc:
        raise ScenarioFileError(f"{where}: stack: {exc}") from None
    model = inp.get("model", "gpt-realtime")
    client = openai.AsyncOpenAI(base_url=ctx.url(inp.get("base_url")), api_key="sk-repro", max_retries=0)
    voice = RealtimeVoiceClient(
        client,
        model=model,
        voice=inp.get("voice", "alloy"),
        policy=policy,
        connect_timeout_ms=num["connect_timeout_ms"],
        idle_timeout_ms=num["idle_timeout_ms"],
        jitter_buffer_ms=num["jitter_buffer_ms"],
        time_scale=ctx.time_scale,
    )
    facts: dict[str, Any] = {}
    lines = [
        f"realtime voice session with {model}: {turns} turn(s) of {input_ms:.0f} ms input; reconnect "
        f"policy {policy.backoff.initial_ms:g} ms x{policy.backoff.multiplier:g} up to "
        f"{policy.backoff.max_ms:g} ms, jitter {policy.jitter:g}, {policy.max_attempts} attempts"
    ]
    t0 = time.perf_counter()
    try:
        if inp.get("health_check"):
            health = await check_realtime(client, model, timeout_s=ctx.real_s(num["connect_timeout_ms"]))
            facts["health"] = {"verdict": health.verdict, "message": health.message, "detail": health.detail}
            lines.append(health.format())
        try:
            result = await voice.converse([tone_pcm16(input_ms)] * turns)
        except RealtimeSessionError as exc:
            result = exc.result
            facts["error"] = error_text(exc)
    finally:
        await client.close()
    facts.update(session_facts(result), elapsed_ms=ctx.scenario_ms(time.perf_counter() - t0))
    lines += _lines(result)
    if "error" in facts:
        lines.append(f"the client stopped: {facts['error']}")
    return StackRun({"realtime": facts}, lines)

"""``stack.drive: gateway``: one chat turn through the reference gateway (seed 004).

The gateway runs in-process with the mock as its upstream. ``stack.input``: ``message``,
``session_id``, ``use_memory``, ``turns`` (how many chat turns in a row, default 1).
``stack.settings``: any gateway setting by field name (``heartbeat_ms``, ``first_token_timeout_ms``,
``read_timeout_ms``, ``max_retries``...); every ``*_ms`` one is in scenario time. Facts under
``gateway``: status, headers (content_type, cache_control, x_accel_buffering), connected, events
(event names in order, repeats collapsed), event_counts, text, tokens, finish_reason,
provider_retry_count, error {code, message}, error_code, heartbeats, heartbeats_before_first_token,
ttft_ms, token_spread_ms, max_silence_ms (scenario time), telemetry {openai_call, error} (the rows
the gateway wrote), and retries, retry_waits_ms and min_retry_wait_ms (the gateway's upstream
retries, from the mock's journal; waits in real milliseconds). With ``turns`` > 1 the stream facts
are the last turn's, and error_rate (turns that ended in an error) and retry_rate (turns that
needed an upstream retry) say how the run went.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import fields
from typing import Any

import aiohttp

from harness.gateway.auth import mint_token
from harness.gateway.runner import GatewayServer
from harness.gateway.settings import GatewaySettings
from harness.gateway.store import GatewayStore
from harness.gateway.web_gateway import create_gateway_app
from servekit.sse import Frame, SSEReader

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError
from . import journal_entries, retry_facts

SECRET = "repro-secret-" + "x" * 32
# Gateway durations, scaled like the scenario's; retry-after headers are real time, so not that one.
SCALED_DEFAULTS = {
    f.name: f.default
    for f in fields(GatewaySettings)
    if f.name.endswith("_ms") and f.name != "retry_after_max_ms"
}
CLIENT_TIMEOUT_S = 30.0
TELEMETRY_WAIT_S = 1.0


def collapse(names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def stream_facts(frames: list[tuple[float, Frame]], ctx: RunContext) -> dict[str, Any]:
    """Facts from the frames the client read, each with its arrival time (real seconds). Pure."""
    events = [(t, f.event or "message", _json(f.data)) for t, f in frames if not f.is_comment]
    tokens = [(t, d.get("text", "")) for t, name, d in events if name == "token"]
    done = next((d for _, name, d in events if name == "done"), {})
    error = next((d for _, name, d in events if name == "error"), None)
    times = [t for t, _ in frames]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    counts: dict[str, int] = {}
    for _, name, _ in events:
        counts[name] = counts.get(name, 0) + 1
    return {
        "connected": bool(frames) and frames[0][1].comment == "Connected to chat stream",
        "events": collapse([name for _, name, _ in events]),
        "event_counts": counts,
        "text": "".join(text for _, text in tokens),
        "tokens": len(tokens),
        "finish_reason": done.get("finish_reason"),
        "provider_retry_count": done.get("provider_retry_count"),
        "error": error,
        "error_code": (error or {}).get("code"),
        "heartbeats": sum(1 for _, f in frames if f.is_comment and (f.comment or "").startswith("heartbeat")),
        "heartbeats_before_first_token": sum(
            1
            for t, f in frames
            if f.is_comment and (f.comment or "").startswith("heartbeat") and (not tokens or t < tokens[0][0])
        ),
        "ttft_ms": ctx.scenario_ms(tokens[0][0]) if tokens else None,
        "token_spread_ms": ctx.scenario_ms(tokens[-1][0] - tokens[0][0]) if tokens else None,
        "max_silence_ms": ctx.scenario_ms(max(gaps)) if gaps else None,
    }


def _json(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {"unparsed": data}
    return value if isinstance(value, dict) else {"value": value}


async def _chat(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], list[tuple[float, Frame]], str]:
    reader, frames = SSEReader(), []
    headers = {
        "Authorization": f"Bearer {mint_token(SECRET, sub='repro-user', ttl_s=600)}",
        "Accept": "text/event-stream",
    }
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    t0 = time.perf_counter()
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url + "/api/v1/chat", json=body, headers=headers) as resp,
    ):
        if resp.content_type != "text/event-stream":
            return resp.status, dict(resp.headers), [], await resp.text()
        async for chunk in resp.content.iter_any():
            now = time.perf_counter() - t0
            frames.extend((now, f) for f in reader.feed(chunk))
        return resp.status, dict(resp.headers), frames, ""


async def _telemetry(store: GatewayStore, calls: int) -> list[dict[str, Any]]:
    """The telemetry rows, once the gateway has written ``calls`` ``openai_call`` rows (it writes
    one just after each stream's last event) or a short while has passed."""
    deadline = time.perf_counter() + TELEMETRY_WAIT_S
    while True:
        rows = await store.events()
        written = sum(1 for r in rows if r["type"] == "openai_call")
        if written >= calls or time.perf_counter() > deadline:
            return rows
        await asyncio.sleep(0.01)


async def run(ctx: RunContext) -> StackRun:
    inp = ctx.input
    settings = GatewaySettings.from_env(
        env={},
        openai_base_url=ctx.mock.base_url,
        openai_api_key="sk-repro",
        jwt_secret=SECRET,
        telemetry_db=":memory:",
        **ctx.settings(SCALED_DEFAULTS),
    )
    store = GatewayStore(settings.telemetry_db)
    body: dict[str, Any] = {"message": inp.get("message", "Tell me about fault injection.")}
    if "session_id" in inp:
        body["sessionId"] = inp["session_id"]
    if "use_memory" in inp:
        body["useMemory"] = inp["use_memory"]
    turns = int(inp.get("turns", 1))
    if turns < 1:
        raise ScenarioFileError(f"{ctx.scenario.path}: stack.input.turns: expected at least 1, got {turns}")
    outcomes: list[tuple[int, dict[str, Any]]] = []  # per turn: status, stream facts
    with GatewayServer(settings, app=create_gateway_app(settings, store=store)) as gateway:
        for _ in range(turns):
            status, headers, frames, text_body = await _chat(gateway.url, body)
            outcomes.append((status, stream_facts(frames, ctx)))
        telemetry = await _telemetry(store, calls=sum(1 for s, _ in outcomes if s == 200))
    lower = {k.lower(): v for k, v in headers.items()}
    facts: dict[str, Any] = {
        "status": status,
        "headers": {
            "content_type": lower.get("content-type", "").split(";")[0],
            "cache_control": lower.get("cache-control"),
            "x_accel_buffering": lower.get("x-accel-buffering"),
        },
        **outcomes[-1][1],
        "telemetry": {row["type"]: row["payload"] for row in telemetry},
        **retry_facts(journal_entries(ctx)),
    }
    lines = [f"POST {gateway.url}/api/v1/chat → {status} {facts['headers']['content_type']}"]
    if turns > 1:
        failed = [s != 200 or "error" in f["events"] for s, f in outcomes]
        retried = [bool(f["provider_retry_count"]) for _, f in outcomes]
        facts.update(error_rate=round(sum(failed) / turns, 4), retry_rate=round(sum(retried) / turns, 4))
        lines = [f"{turns} chat turns: {sum(failed)} ended in an error, {sum(retried)} needed a retry"] + [
            f"turn {n}: {s} events {f['events']} provider_retry_count {f['provider_retry_count']}"
            for n, (s, f) in enumerate(outcomes, 1)
            if s != 200 or "error" in f["events"] or f["provider_retry_count"]
        ]
        lines.append(f"the last turn: POST {gateway.url}/api/v1/chat → {status}")
    if text_body:
        lines.append(f"body: {text_body[:300]}")
    for t, f in frames:
        what = f": {f.comment}" if f.is_comment else f"event: {f.event} {f.data[:120]}"
        lines.append(f"+{ctx.scenario_ms(t):>8.0f} ms  {what}")
    lines += [f"telemetry {row['type']}: {json.dumps(row['payload'])[:200]}" for row in telemetry]
    return StackRun({"gateway": facts}, lines)

"""The benchmarks; the first three each measured side by side in one run (rounds alternate the two sides).

* :func:`gateway_overhead` - TTFT and total time through the gateway minus calling the mock
  directly, at ``concurrency`` concurrent streams (p50, p99).
* :func:`mock_throughput` - zero-delay chat streams/s and chunks/s of the mock against the bare
  aiohttp SSE handler (:mod:`harness.bench.bare_sse`), best round of each (ratio mock / bare).
* :func:`timing_fidelity` - client-measured TTFT minus the scenario's TTFT at ``concurrency``
  concurrent streams (p50, p99 of the error).
* :func:`held_streams` - ``held_streams`` gateway streams opened at once against a silent
  upstream: how many were held at the same time, how many ended with ``done``, and the
  heartbeat gaps each client saw against the interval (:mod:`harness.bench.held_streams`).

Each returns a plain dict of figures; :mod:`harness.bench.report` turns them into Markdown.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.load.stats import percentile
from harness.load.stream_watch import CHAT, GATEWAY, StreamOutcome

from .held_streams import HeartbeatTap, HeldStream, held_figures
from .stream_client import (
    LoopLag,
    StreamRequest,
    count_stream,
    measure_stream,
    new_session,
    run_concurrent,
    run_for,
)

CHAT_BODY = {
    "model": "gpt-4o-mini",
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me something short."}],
}


@dataclass(frozen=True)
class BenchConfig:
    overhead_concurrency: int = 100
    overhead_per_worker: int = 2
    throughput_concurrency: int = 32
    throughput_seconds: float = 2.0
    fidelity_concurrency: int = 200
    fidelity_per_worker: int = 2
    rounds: int = 2
    warm_up: bool = True  # one untimed pass first: connections opened, pools filled
    held_streams: int = 500
    held_heartbeat_ms: int = 500  # the gateway's OPENAI_SSE_HEARTBEAT_MS for the held run
    held_time_scale: float = 1.0  # the mock's time scale for the held run (its silence shrinks with it)

    @classmethod
    def quick(cls) -> BenchConfig:
        """A few streams of each kind: shows the machinery works, not a figure to quote."""
        return cls(
            overhead_concurrency=5,
            overhead_per_worker=1,
            throughput_concurrency=4,
            throughput_seconds=0.4,
            fidelity_concurrency=10,
            fidelity_per_worker=1,
            rounds=1,
            warm_up=False,
            held_streams=20,
            held_heartbeat_ms=100,
            held_time_scale=0.1,
        )


def _session_headers(scenario: str | None) -> dict[str, str]:
    headers = {"X-Mock-Session": f"bench-{uuid.uuid4().hex[:12]}"}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    return headers


def mock_chat(mock_url: str, scenario: str | None) -> StreamRequest:
    headers = {"Authorization": "Bearer sk-bench", **_session_headers(scenario)}
    return StreamRequest(f"{mock_url}/v1/chat/completions", CHAT_BODY, headers, CHAT)


def gateway_chat(
    gateway_url: str, token: str, scenario: str | None, memory_session: str | None = None
) -> StreamRequest:
    """A gateway chat turn; with ``memory_session`` it sends that ``sessionId`` and ``useMemory``."""
    headers = {"Authorization": f"Bearer {token}", **_session_headers(scenario)}
    body: dict[str, Any] = {"message": "Tell me something short."}
    if memory_session is not None:
        body |= {"sessionId": memory_session, "useMemory": True}
    return StreamRequest(f"{gateway_url}/api/v1/chat", body, headers, GATEWAY)


def _ok(outcomes: list[StreamOutcome]) -> list[StreamOutcome]:
    return [o for o in outcomes if o.ok and o.ttft_ms is not None]


def _p(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 3)


async def _streams(
    req: StreamRequest, concurrency: int, per_worker: int, stagger_s: float
) -> list[StreamOutcome]:
    async with new_session() as session:
        return await run_concurrent(concurrency, per_worker, lambda: measure_stream(session, req), stagger_s)


async def _mock_admin(mock_url: str, method: str, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.request(method, mock_url + path) as resp:
        resp.raise_for_status()
        return await resp.json()


async def gateway_overhead(
    mock_url: str, gateway_url: str, token: str, scenario: str, ttft_ms: float, cfg: BenchConfig
) -> dict[str, Any]:
    sides: dict[str, list[StreamOutcome]] = {"direct": [], "gateway": []}
    failures = {"direct": 0, "gateway": 0}
    requests = {
        "direct": mock_chat(mock_url, scenario),
        "gateway": gateway_chat(gateway_url, token, scenario),
    }
    stagger = ttft_ms / 1000.0
    for req in requests.values() if cfg.warm_up else ():  # connections, the gateway's upstream pool
        await _streams(req, cfg.overhead_concurrency, 1, stagger)
    for _ in range(cfg.rounds):
        for side, req in requests.items():
            out = await _streams(req, cfg.overhead_concurrency, cfg.overhead_per_worker, stagger)
            good = _ok(out)
            failures[side] += len(out) - len(good)
            sides[side].extend(good)
    figures: dict[str, Any] = {"concurrency": cfg.overhead_concurrency, "scenario": scenario}
    for side, outs in sides.items():
        figures[side] = {
            "streams": len(outs),
            "failures": failures[side],
            "ttft_p50": _p([o.ttft_ms for o in outs], 50),
            "ttft_p99": _p([o.ttft_ms for o in outs], 99),
            "total_p50": _p([o.total_ms for o in outs], 50),
            "total_p99": _p([o.total_ms for o in outs], 99),
        }
    for key in ("ttft_p50", "ttft_p99", "total_p50", "total_p99"):
        d, g = figures["direct"][key], figures["gateway"][key]
        figures[f"overhead_{key}"] = None if d is None or g is None else round(g - d, 3)
    return figures


async def mock_throughput(mock_url: str, bare_url: str, cfg: BenchConfig) -> dict[str, Any]:
    requests = {"mock": mock_chat(mock_url, None), "bare": mock_chat(bare_url, None)}
    rounds: dict[str, list[dict[str, float]]] = {"mock": [], "bare": []}
    async with new_session() as session:
        for req in requests.values() if cfg.warm_up else ():
            await run_for(cfg.throughput_concurrency, 0.2, lambda r=req: count_stream(session, r))
        for _ in range(cfg.rounds):
            for side, req in requests.items():
                results, wall = await run_for(
                    cfg.throughput_concurrency, cfg.throughput_seconds, lambda r=req: count_stream(session, r)
                )
                complete = [frames for done, frames in results if done]
                rounds[side].append(
                    {
                        "streams_per_s": len(complete) / wall,
                        "chunks_per_s": sum(complete) / wall,
                        "incomplete": len(results) - len(complete),
                    }
                )
    best = {side: max(r, key=lambda x: x["streams_per_s"]) for side, r in rounds.items()}
    return {
        "concurrency": cfg.throughput_concurrency,
        "seconds_per_round": cfg.throughput_seconds,
        "rounds": cfg.rounds,
        **{f"{side}_{k}": round(v, 1) for side, b in best.items() for k, v in b.items()},
        "ratio_streams": round(best["mock"]["streams_per_s"] / best["bare"]["streams_per_s"], 3)
        if best["bare"]["streams_per_s"]
        else None,
        "ratio_chunks": round(best["mock"]["chunks_per_s"] / best["bare"]["chunks_per_s"], 3)
        if best["bare"]["chunks_per_s"]
        else None,
    }


async def timing_fidelity(mock_url: str, scenario: str, ttft_ms: float, cfg: BenchConfig) -> dict[str, Any]:
    req = mock_chat(mock_url, scenario)
    if cfg.warm_up:
        await _streams(req, cfg.fidelity_concurrency, 1, ttft_ms / 1000.0)
    outs: list[StreamOutcome] = []
    failures = 0
    session = req.headers["X-Mock-Session"]
    await _mock_admin(mock_url, "POST", f"/_mock/reset?session={session}")  # forget the warm-up
    for _ in range(cfg.rounds):
        out = await _streams(req, cfg.fidelity_concurrency, cfg.fidelity_per_worker, ttft_ms / 1000.0)
        good = _ok(out)
        failures += len(out) - len(good)
        outs.extend(good)
    errors = [o.ttft_ms - ttft_ms for o in outs]
    # the same streams as the mock itself saw them: its first content event after the request
    # arrived, from its journal; what the client adds on top is its own scheduling on this machine
    journal = await _mock_admin(mock_url, "GET", f"/_mock/journal?session={session}")
    server = [e["first_content_ms"] - ttft_ms for e in journal if e.get("first_content_ms") is not None]
    return {
        "server_error_p50": _p(server, 50),
        "server_error_p99": _p(server, 99),
        "server_abs_error_p99": _p([abs(e) for e in server], 99),
        "concurrency": cfg.fidelity_concurrency,
        "scenario": scenario,
        "scenario_ttft_ms": ttft_ms,
        "streams": len(outs),
        "failures": failures,
        "error_p50": _p(errors, 50),
        "error_p99": _p(errors, 99),
        "abs_error_p99": _p([abs(e) for e in errors], 99),
        "measured_p50": _p([o.ttft_ms for o in outs], 50),
    }


async def held_streams(
    gateway_url: str, token: str, scenario: str, ttft_ms: float, heartbeat_ms: float, cfg: BenchConfig
) -> dict[str, Any]:
    """``cfg.held_streams`` gateway streams sent at once, each read to its end. The gateway's
    upstream URL selects the scenario, so the requests carry no scenario header."""
    req = gateway_chat(gateway_url, token, None)

    async with new_session() as session, LoopLag() as lag:

        async def one() -> HeldStream:
            tap, started = HeartbeatTap(), time.perf_counter()
            return HeldStream(started, tap, await measure_stream(session, req, tap))

        streams = await asyncio.gather(*(one() for _ in range(cfg.held_streams)))
    return {
        "scenario": scenario,
        **held_figures(list(streams), heartbeat_ms, ttft_ms),
        "client_lag_p99": _p(lag.lags_ms, 99),
        "client_lag_max": _p(lag.lags_ms, 100),
    }

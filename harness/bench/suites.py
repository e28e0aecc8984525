"""The benchmarks; the first three each measured side by side in one run (rounds alternate the sides).

* :func:`gateway_overhead` - TTFT and total time through each proxy (the reference gateway, the
  bare relay of :mod:`harness.bench.bare_relay`, LiteLLM proxy when installed) minus calling the
  mock directly, at ``concurrency`` concurrent streams (p50, p99), and each one's CPU per stream.
* :func:`mock_throughput` - zero-delay chat streams/s, chunks/s and CPU per stream of the mock
  against the bare aiohttp SSE handler (:mod:`harness.bench.bare_sse`), and, when they are
  there, aimock and the mock with ``--workers 2``; best round of each (ratio mock / bare).
* :func:`timing_fidelity` - client-measured TTFT minus the scenario's TTFT at ``concurrency``
  concurrent streams (p50, p99 of the error).
* :func:`held_streams` - ``held_streams`` gateway streams opened at once against a silent
  upstream: how many were held at the same time, how many ended with ``done``, and the
  heartbeat gaps each client saw against the interval (:mod:`harness.bench.held_streams`).

CPU per stream is a server process's CPU time from ``/proc`` (:mod:`harness.load.proc_cpu`) read
before and after each round, divided by the streams it completed: steadier than wall time on a
machine shared with other work. Each suite returns a plain dict of figures;
:mod:`harness.bench.report` turns them into Markdown.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.load.proc_cpu import CpuMeter, machine_busy_seconds
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
    overhead_per_worker: int = 1
    overhead_rounds: int = 4  # short rounds, many: a burst of other work on the machine hits every side
    litellm_per_worker: int = 1  # LiteLLM saturates near a dozen streams/s: fewer, or a round lasts long
    throughput_concurrency: int = 32
    throughput_seconds: float = 2.0
    fidelity_concurrency: int = 200
    fidelity_per_worker: int = 2
    rounds: int = 2
    warm_up: bool = True  # one untimed pass first: connections opened, pools filled
    held_streams: int = 500
    held_heartbeat_ms: int = 500  # the gateway's OPENAI_SSE_HEARTBEAT_MS for the held run
    held_time_scale: float = 1.0  # the mock's time scale for the held run (its silence shrinks with it)
    steady_time_scale: float = 1.0  # the mock's time scale for the overhead and fidelity runs

    @classmethod
    def quick(cls) -> BenchConfig:
        """A few streams of each kind: shows the machinery works, not a figure to quote."""
        return cls(
            overhead_concurrency=5,
            overhead_per_worker=1,
            overhead_rounds=1,
            litellm_per_worker=1,
            throughput_concurrency=4,
            throughput_seconds=0.4,
            fidelity_concurrency=10,
            fidelity_per_worker=1,
            rounds=1,
            warm_up=False,
            held_streams=20,
            held_heartbeat_ms=100,
            held_time_scale=0.1,
            steady_time_scale=0.1,
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


def litellm_chat(litellm_url: str, master_key: str) -> StreamRequest:
    """A streamed chat completion through LiteLLM proxy, asking for usage as the gateway does."""
    headers = {"Authorization": f"Bearer {master_key}", **_session_headers(None)}
    body = {**CHAT_BODY, "stream_options": {"include_usage": True}}
    return StreamRequest(f"{litellm_url}/v1/chat/completions", body, headers, CHAT)


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


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what the client sends, and the server process whose CPU counts."""

    name: str
    request: StreamRequest
    pid: int | None = None  # the server's process (with its descendants); None: CPU not measured
    per_worker: int | None = None  # streams per client per round (None: the suite's own)


class RoundCpu:
    """CPU seconds over one round: each named process (the measuring ``client`` alone, without
    the servers it started) and every core of the machine (``machine``: other work included)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.meter = CpuMeter(pids, alone=["client"]).start()
        self.machine0 = machine_busy_seconds()

    def add_to(self, totals: dict[str, float]) -> None:
        for name, use in self.meter.stop().items():
            totals[name] = totals.get(name, 0.0) + use.cpu_s
        machine1 = machine_busy_seconds()
        if self.machine0 is not None and machine1 is not None:
            totals["machine"] = totals.get("machine", 0.0) + machine1 - self.machine0


def _cpu_pids(server: int | None, mock_pid: int | None) -> dict[str, int]:
    pids = {"client": os.getpid()}
    if server is not None:
        pids["server"] = server
    if mock_pid is not None:
        pids["mock"] = mock_pid
    return pids


def _per_stream(cpu_s: float | None, streams: int) -> float | None:
    return None if cpu_s is None or not streams else round(cpu_s * 1000.0 / streams, 3)


def _cpu_figures(cpu_s: dict[str, float], streams: int, wall_s: float) -> dict[str, float | None]:
    """CPU ms per stream and % of one core of the server (``cpu_ms_per_stream``,
    ``pct_of_core``), the mock (``mock_...``) and the measuring client (``client_...``), and how
    busy the whole machine was (``machine_busy_pct``, 100 per core)."""
    out: dict[str, float | None] = {}
    for name, prefix in (("server", ""), ("mock", "mock_"), ("client", "client_")):
        cpu = cpu_s.get(name)
        out[f"{prefix}cpu_ms_per_stream"] = _per_stream(cpu, streams)
        out[f"{prefix}pct_of_core"] = None if cpu is None or not wall_s else round(cpu / wall_s * 100, 1)
    busy = cpu_s.get("machine")
    out["machine_busy_pct"] = None if busy is None or not wall_s else round(busy / wall_s * 100, 1)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else round(a / b, 3)


async def gateway_overhead(
    mock_pid: int | None, sides: list[Side], scenario: str, ttft_ms: float, cfg: BenchConfig
) -> dict[str, Any]:
    """TTFT and total time of each side against the first (``direct``: the mock called by the
    client itself), at ``cfg.overhead_concurrency`` closed-loop clients, rounds alternating the
    sides; and each side's CPU per stream: its server process's CPU time (``/proc``) over the
    round, divided by the streams completed, with the mock's and the measuring client's beside it."""
    outs: dict[str, list[StreamOutcome]] = {s.name: [] for s in sides}
    failures = dict.fromkeys(outs, 0)
    cpu: dict[str, dict[str, float]] = {s.name: {} for s in sides}
    wall = dict.fromkeys(outs, 0.0)
    stagger = ttft_ms / 1000.0
    for side in sides if cfg.warm_up else ():  # connections, the proxies' upstream pools, first imports
        await _streams(side.request, cfg.overhead_concurrency, 1, stagger)
    for _ in range(cfg.overhead_rounds):
        for side in sides:
            meter = RoundCpu(_cpu_pids(side.pid, mock_pid))
            t0 = time.perf_counter()
            out = await _streams(
                side.request, cfg.overhead_concurrency, side.per_worker or cfg.overhead_per_worker, stagger
            )
            wall[side.name] += time.perf_counter() - t0
            meter.add_to(cpu[side.name])
            good = _ok(out)
            failures[side.name] += len(out) - len(good)
            outs[side.name].extend(good)
    figures: dict[str, Any] = {
        "concurrency": cfg.overhead_concurrency,
        "scenario": scenario,
        "time_scale": cfg.steady_time_scale,
        "rounds": cfg.overhead_rounds,
        "paths": {},
    }
    direct = sides[0].name
    for side in sides:
        o, c, n = outs[side.name], cpu[side.name], len(outs[side.name])
        figures["paths"][side.name] = {
            "streams": n,
            "failures": failures[side.name],
            "per_worker": side.per_worker or cfg.overhead_per_worker,
            "ttft_p50": _p([x.ttft_ms for x in o], 50),
            "ttft_p99": _p([x.ttft_ms for x in o], 99),
            "total_p50": _p([x.total_ms for x in o], 50),
            "total_p99": _p([x.total_ms for x in o], 99),
            **_cpu_figures(c, n, wall[side.name]),
            "streams_per_s": round(n / wall[side.name], 1) if wall[side.name] else None,
        }
    d = figures["paths"][direct]
    for name, f in figures["paths"].items():
        for key in ("ttft_p50", "ttft_p99", "total_p50", "total_p99"):
            f[f"overhead_{key}"] = (
                None if name == direct or d[key] is None or f[key] is None else round(f[key] - d[key], 3)
            )
    return figures


async def mock_throughput(sides: list[Side], cfg: BenchConfig) -> dict[str, Any]:
    """Zero-delay chat streams/s and chunks/s of each server for ``cfg.throughput_seconds`` per
    round, rounds alternating the sides, best round kept; CPU per stream of each server (and of
    the measuring client) over all its rounds."""
    rounds: dict[str, list[dict[str, float]]] = {s.name: [] for s in sides}
    cpu: dict[str, dict[str, float]] = {s.name: {} for s in sides}
    complete_total = dict.fromkeys(rounds, 0)
    wall_total = dict.fromkeys(rounds, 0.0)
    async with new_session() as session:
        for side in sides if cfg.warm_up else ():
            await run_for(cfg.throughput_concurrency, 0.2, lambda r=side.request: count_stream(session, r))
        for _ in range(cfg.rounds):
            for side in sides:
                meter = RoundCpu(_cpu_pids(side.pid, None))
                results, wall = await run_for(
                    cfg.throughput_concurrency,
                    cfg.throughput_seconds,
                    lambda r=side.request: count_stream(session, r),
                )
                meter.add_to(cpu[side.name])
                complete = [frames for done, frames in results if done]
                complete_total[side.name] += len(complete)
                wall_total[side.name] += wall
                rounds[side.name].append(
                    {
                        "streams_per_s": round(len(complete) / wall, 1),
                        "chunks_per_s": round(sum(complete) / wall, 1),
                        "incomplete": len(results) - len(complete),
                    }
                )
    servers: dict[str, Any] = {}
    for side in sides:
        best = max(rounds[side.name], key=lambda x: x["streams_per_s"])
        c, n, w = cpu[side.name], complete_total[side.name], wall_total[side.name]
        servers[side.name] = {**best, **_cpu_figures(c, n, w)}
    first, base = sides[0].name, sides[1].name
    return {
        "concurrency": cfg.throughput_concurrency,
        "cores": os.cpu_count(),
        "seconds_per_round": cfg.throughput_seconds,
        "rounds": cfg.rounds,
        "servers": servers,
        "ratio_streams": _ratio(servers[first]["streams_per_s"], servers[base]["streams_per_s"]),
        "ratio_chunks": _ratio(servers[first]["chunks_per_s"], servers[base]["chunks_per_s"]),
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

"""``python -m harness.bench`` (``make bench``): run the four benchmarks, print them, write BENCHMARKS.md.

Starts the mock and the gateway (``harness.load.services.Stack``) and the bare aiohttp baseline
as their own processes on free 127.0.0.1 ports, measures, stops them all. The held-streams
benchmark then gets a stack of its own: a mock whose upstream stays silent for seconds and a
gateway with a short heartbeat interval (``OPENAI_SSE_HEARTBEAT_MS``).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.load.services import HOST, Service, ServiceError, Stack, python_module
from mockserver.runtime import settle_heap
from mockserver.web_runner import free_port

from . import suites
from .report import machine_info, render_markdown, summary_lines

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "bench-steady-150"
SCENARIO_TTFT_MS = 150.0
HELD_SCENARIO = "bench-held-streams"
HELD_SCENARIO_TTFT_MS = 4000.0
BENCHMARKS = ("overhead", "throughput", "fidelity", "held")
FILES_PER_HELD_STREAM = 3  # the client's socket, the gateway's two (client side, upstream side)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the report")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    p.add_argument("--quick", action="store_true", help="a few streams of each kind (a smoke run)")
    p.add_argument("--scenarios", default=str(ROOT / "scenarios"), help="scenario folder for the mock")
    return p.parse_args(argv)


async def measure(
    which: tuple[str, ...], stack: Stack, bare_url: str, token: str, cfg: suites.BenchConfig
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "overhead" in which:
        assert stack.gateway_url is not None
        results["overhead"] = await suites.gateway_overhead(
            stack.mock_url, stack.gateway_url, token, SCENARIO, SCENARIO_TTFT_MS, cfg
        )
    if "throughput" in which:
        results["throughput"] = await suites.mock_throughput(stack.mock_url, bare_url, cfg)
    if "fidelity" in which:
        results["fidelity"] = await suites.timing_fidelity(stack.mock_url, SCENARIO, SCENARIO_TTFT_MS, cfg)
    return results


def ensure_open_files(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``needed`` (never past the hard limit); the child
    processes started afterwards inherit it. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def run_steady(
    which: tuple[str, ...], args: argparse.Namespace, secret: str, tmp: str, cfg: suites.BenchConfig
) -> dict[str, Any]:
    """Overhead, throughput, fidelity: the mock (+ gateway) under the steady scenario, and the baseline."""
    from harness.gateway.auth import mint_token

    bare_port = free_port(HOST)
    bare = Service(
        "bare-sse",
        python_module("harness.bench.bare_sse", "--port", str(bare_port)),
        f"http://{HOST}:{bare_port}/health",
        log_dir=tmp,
    )
    stack = Stack([args.scenarios], SCENARIO, gateway="overhead" in which, jwt_secret=secret, log_dir=tmp)
    with stack, bare:
        settle_heap()  # the measuring client too: a full collection mid-run would read as latency
        return asyncio.run(
            measure(which, stack, f"http://{HOST}:{bare_port}", mint_token(secret, sub="bench"), cfg)
        )


def run_held(args: argparse.Namespace, secret: str, tmp: str, cfg: suites.BenchConfig) -> dict[str, Any]:
    """Held streams: its own mock (silent upstream) and gateway (short heartbeat)."""
    from harness.gateway.auth import mint_token

    limit = ensure_open_files(cfg.held_streams * FILES_PER_HELD_STREAM + 256)
    log_dir = Path(tmp) / "held"
    log_dir.mkdir()
    stack = Stack(
        [args.scenarios],
        HELD_SCENARIO,
        gateway=True,
        jwt_secret=secret,
        log_dir=str(log_dir),
        time_scale=cfg.held_time_scale,
        gateway_env={"OPENAI_SSE_HEARTBEAT_MS": str(cfg.held_heartbeat_ms)},
    )
    with stack:
        assert stack.gateway_url is not None
        settle_heap()
        figures = asyncio.run(
            suites.held_streams(
                stack.gateway_url,
                mint_token(secret, sub="bench-held"),
                HELD_SCENARIO,
                HELD_SCENARIO_TTFT_MS * cfg.held_time_scale,
                cfg.held_heartbeat_ms,
                cfg,
            )
        )
    return {**figures, "open_file_limit": limit}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    which = tuple(args.only or BENCHMARKS)
    cfg = suites.BenchConfig.quick() if args.quick else suites.BenchConfig()
    secret = secrets.token_urlsafe(32)
    machine = machine_info()
    steady = tuple(b for b in which if b != "held")
    t0 = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        try:
            if steady:
                results.update(run_steady(steady, args, secret, tmp, cfg))
            if "held" in which:
                results["held"] = run_held(args, secret, tmp, cfg)
        except ServiceError as exc:
            print(f"harness.bench: {exc}", file=sys.stderr)
            return 2
    elapsed = time.perf_counter() - t0
    for line in summary_lines(results):
        print(line)
    out = Path(args.out)
    out.write_text(render_markdown(results, machine, elapsed))
    print(f"written to {out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

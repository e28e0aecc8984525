"""``python -m harness.bench`` (``make bench``): run the benchmarks, print them, write BENCHMARKS.md.

Starts the mock and the gateway (``harness.load.services.Stack``), the bare aiohttp relay and the
bare aiohttp SSE handler as their own processes on free 127.0.0.1 ports, and beside them the
optional servers of :mod:`harness.bench.extras` (LiteLLM proxy for the overhead rounds; aimock and
the mock with ``--workers 2`` for the throughput rounds), each only while its benchmark runs;
measures; stops them all. A comparison that cannot run is skipped with its reason. The
held-streams benchmark then gets a stack of its own: a mock whose upstream stays silent for
seconds and a gateway with a short heartbeat interval (``OPENAI_SSE_HEARTBEAT_MS``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.load.services import HOST, Service, ServiceError, Stack, python_module
from mockserver.scenario.loader import CATALOGUE
from mockserver.web_runner import free_port
from servekit.runtime import settle_heap

from . import extras, suites
from .report import machine_info, render_markdown, summary_lines

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "bench-steady-150"
SCENARIO_TTFT_MS = 150.0
HELD_SCENARIO = "bench-held-streams"
HELD_SCENARIO_TTFT_MS = 4000.0
BENCHMARKS = ("overhead", "throughput", "fidelity", "held")
LITELLM_START_S = 120.0  # a first start compiles its modules: tens of seconds on a busy machine
FILES_PER_HELD_STREAM = 3  # the client's socket, the gateway's two (client side, upstream side)


EXTRAS = ("litellm", "aimock", "workers")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the report")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    p.add_argument(
        "--quick", action="store_true", help="a few streams of each kind, LiteLLM left out (a smoke run)"
    )
    p.add_argument(
        "--without",
        action="append",
        default=[],
        choices=EXTRAS,
        help="leave out this comparison (repeatable)",
    )
    p.add_argument(
        "--scenarios",
        default=str(CATALOGUE),
        help="scenario folder for the mock (default: the built-in catalogue)",
    )
    return p.parse_args(argv)


def skipped_extras(args: argparse.Namespace) -> dict[str, str]:
    """The comparisons left out by the command line, each with the reason printed for it."""
    out = {name: "left out with --without" for name in args.without}
    if args.quick:
        out.setdefault("litellm", "left out of --quick (its start-up alone takes seconds)")
    return out


def pid(service: Service | None) -> int | None:
    return None if service is None or service.proc is None else service.proc.pid


async def measure_overhead(
    stack: Stack, relay_url: str, relay_pid: int | None, token: str, litellm: Any, cfg: suites.BenchConfig
) -> dict[str, Any]:
    assert stack.gateway_url is not None
    mock, gateway = stack.services[0], stack.services[1]
    sides = [
        suites.Side("direct", suites.mock_chat(stack.mock_url, SCENARIO), pid(mock)),
        suites.Side("gateway", suites.gateway_chat(stack.gateway_url, token, SCENARIO), pid(gateway)),
        suites.Side("relay", suites.gateway_chat(relay_url, token, SCENARIO), relay_pid),
    ]
    if litellm is not None:
        req = suites.litellm_chat(litellm.url, litellm.master_key)
        sides.append(suites.Side("litellm", req, pid(litellm.service), cfg.litellm_per_worker))
    ttft_ms = SCENARIO_TTFT_MS * cfg.steady_time_scale
    return await suites.gateway_overhead(pid(mock), sides, SCENARIO, ttft_ms, cfg)


def ensure_open_files(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``needed`` (never past the hard limit); the child
    processes started afterwards inherit it. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def run_steady(
    which: tuple[str, ...],
    args: argparse.Namespace,
    secret: str,
    tmp: str,
    cfg: suites.BenchConfig,
    skip: dict[str, str],
) -> dict[str, Any]:
    """Overhead, throughput, fidelity: the mock (+ gateway, relay, LiteLLM) under the steady
    scenario, and the baselines; a comparison that cannot run says why in ``skip``."""
    from harness.gateway.auth import mint_token

    results: dict[str, Any] = {}
    overhead = "overhead" in which
    stack = Stack(
        [args.scenarios],
        SCENARIO,
        gateway=overhead,
        jwt_secret=secret,
        log_dir=tmp,
        time_scale=cfg.steady_time_scale,  # the zero-delay throughput streams have no waits to scale
    )
    upstream = f"{stack.mock_url}/s/{SCENARIO}/v1"
    bare_port, relay_port = free_port(HOST), free_port(HOST)
    bare = Service(
        "bare-sse",
        python_module("harness.bench.bare_sse", "--port", str(bare_port)),
        f"http://{HOST}:{bare_port}/health",
        log_dir=tmp,
    )
    relay = Service(
        "bare-relay",
        python_module("harness.bench.bare_relay", "--port", str(relay_port), "--upstream", upstream),
        f"http://{HOST}:{relay_port}/health",
        log_dir=tmp,
    )
    litellm = None
    if overhead and "litellm" not in skip:
        found = extras.find_litellm()
        if found.path is not None:
            litellm = extras.litellm_service(found.path, upstream, tmp)
            litellm.service.spawn()  # its start-up (seconds) overlaps the others'
        else:
            skip["litellm"] = found.reason
    with contextlib.ExitStack() as running:
        if litellm is not None:
            running.callback(litellm.service.stop)
        running.enter_context(stack)
        running.enter_context(bare)
        if overhead:
            running.enter_context(relay)
        if litellm is not None:
            try:
                litellm.service.wait_ready(LITELLM_START_S)
            except ServiceError as exc:
                skip["litellm"] = f"LiteLLM proxy did not start: {extras.one_line(exc)}"
                litellm = None
        settle_heap()  # the measuring client too: a full collection mid-run would read as latency
        token = mint_token(secret, sub="bench")
        if overhead:
            results["overhead"] = asyncio.run(
                measure_overhead(stack, f"http://{HOST}:{relay_port}", pid(relay), token, litellm, cfg)
            )
        if litellm is not None:
            litellm.service.stop()  # idle or not, it is no part of what follows
        if "throughput" in which:
            bare_url = f"http://{HOST}:{bare_port}"
            results["throughput"] = run_throughput(stack, bare, bare_url, args, tmp, cfg, skip)
        if "fidelity" in which:
            results["fidelity"] = asyncio.run(
                suites.timing_fidelity(
                    stack.mock_url, SCENARIO, SCENARIO_TTFT_MS * cfg.steady_time_scale, cfg
                )
            )
    for figures in results.values():  # how busy the machine was as each benchmark ended
        figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return results


def run_throughput(
    stack: Stack,
    bare: Service,
    bare_url: str,
    args: argparse.Namespace,
    tmp: str,
    cfg: suites.BenchConfig,
    skip: dict[str, str],
) -> dict[str, Any]:
    """The mock against the bare handler, and against aimock and itself with two workers when
    those can run; each extra server runs for this benchmark only."""
    sides = [
        suites.Side("mock", suites.mock_chat(stack.mock_url, None), pid(stack.services[0])),
        suites.Side("bare", suites.mock_chat(bare_url, None), pid(bare)),
    ]
    candidates: list[tuple[str, str, Service, str]] = []
    if "aimock" not in skip:
        found = extras.find_aimock()
        if found.path is not None:
            candidates.append(("aimock", "aimock", *extras.aimock_service(found.path, tmp)))
        else:
            skip["aimock"] = found.reason
    if "workers" not in skip:
        found = extras.workers_supported(extras.mock_serve_help())
        if found.ok:
            service, url = extras.mock_workers_service(args.scenarios, 2, tmp)
            candidates.append(("workers", "mock-workers-2", service, url))
        else:
            skip["workers"] = found.reason
    started: list[Service] = []
    try:
        for extra, side, service, url in candidates:
            try:
                started.append(service.start())
            except ServiceError as exc:
                skip[extra] = f"{service.name} did not start: {extras.one_line(exc)}"
                continue
            sides.append(suites.Side(side, suites.mock_chat(url, None), pid(service)))
        return asyncio.run(suites.mock_throughput(sides, cfg))
    finally:
        for service in reversed(started):
            service.stop()


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
    return {**figures, "open_file_limit": limit, "load_avg_1m": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    which = tuple(args.only or BENCHMARKS)
    cfg = suites.BenchConfig.quick() if args.quick else suites.BenchConfig()
    secret = secrets.token_urlsafe(32)
    machine = machine_info()
    steady = tuple(b for b in which if b != "held")
    t0 = time.perf_counter()
    results: dict[str, Any] = {"skipped": skipped_extras(args), "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        try:
            if steady:
                results.update(run_steady(steady, args, secret, tmp, cfg, results["skipped"]))
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

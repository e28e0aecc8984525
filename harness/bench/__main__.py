"""``python -m harness.bench`` (``make bench``): run the three benchmarks, print them, write BENCHMARKS.md.

Starts the mock and the gateway (``harness.load.services.Stack``) and the bare aiohttp baseline
as their own processes on free 127.0.0.1 ports, measures, stops them all.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.load.services import HOST, Service, ServiceError, Stack, python_module
from mockserver.web_runner import free_port

from . import suites
from .report import machine_info, render_markdown, summary_lines

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "bench-steady-150"
SCENARIO_TTFT_MS = 150.0
BENCHMARKS = ("overhead", "throughput", "fidelity")


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    which = tuple(args.only or BENCHMARKS)
    cfg = suites.BenchConfig.quick() if args.quick else suites.BenchConfig()
    from harness.gateway.auth import mint_token

    secret = secrets.token_urlsafe(32)
    machine = machine_info()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        bare_port = free_port(HOST)
        bare = Service(
            "bare-sse",
            python_module("harness.bench.bare_sse", "--port", str(bare_port)),
            f"http://{HOST}:{bare_port}/health",
            log_dir=tmp,
        )
        stack = Stack([args.scenarios], SCENARIO, gateway="overhead" in which, jwt_secret=secret, log_dir=tmp)
        try:
            with stack, bare:
                results = asyncio.run(
                    measure(which, stack, f"http://{HOST}:{bare_port}", mint_token(secret, sub="bench"), cfg)
                )
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

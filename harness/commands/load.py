"""``harness load``: a bounded headless Locust run against a local mock (+ gateway), checked against
targets. Prints target vs measured and exits 1 when one is missed."""

from __future__ import annotations

import argparse
import sys

from harness.load.users import USER_CLASSES  # a constant: --help imports nothing heavy

HELP = "load-test the reference gateway (or the mock) under a scenario and check the targets"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--users", type=int, default=100, help="concurrent users (default 100)")
    p.add_argument("-r", "--spawn-rate", type=float, default=50.0, help="users started per second")
    p.add_argument("-t", "--run-time", default="15s", help="how long the run lasts (15s, 1m, ...)")
    p.add_argument(
        "--workers", type=int, default=0, help="run Locust as a master and N worker processes on 127.0.0.1"
    )
    p.add_argument(
        "--user",
        choices=sorted(USER_CLASSES),
        default="gateway",
        help="who is loaded: the gateway (default), the gateway with memory (one sessionId per user, "
        "useMemory: true), or the mock directly (no retries: an injected 429 is an error)",
    )
    p.add_argument(
        "--scenario",
        default=None,
        help='mock scenario to run under (default: the one the targets file names; "" for none)',
    )
    p.add_argument(
        "--targets",
        default=None,
        help="targets file (YAML; default: loadtests/targets-memory.yaml for --user gateway-memory, "
        "else loadtests/targets.yaml)",
    )
    p.add_argument(
        "--scenarios",
        action="append",
        default=None,
        metavar="PATH",
        help="scenario file or folder for the mock (repeatable; default: scenarios/)",
    )
    p.add_argument(
        "--think-time", type=float, default=0.5, help="mean seconds each user waits between streams"
    )
    p.add_argument(
        "--stop-timeout", type=float, default=5.0, help="seconds running streams get to finish at the end"
    )
    p.add_argument("--json", default="reports/load.json", help="where to write the results")


def run(args: argparse.Namespace) -> int:
    from harness.extras import LOAD, missing

    if problem := missing({"locust": LOAD["locust"]}, "load", "harness load"):
        print(problem, file=sys.stderr)
        return 2
    from harness.load.cpu_report import cpu_lines
    from harness.load.run import DEFAULT_SCENARIOS, LoadRunError, LoadSettings, run_load
    from harness.load.services import ServiceError
    from harness.load.targets import TargetsError, fmt

    settings = LoadSettings(
        user=args.user,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.run_time,
        workers=args.workers,
        scenario=args.scenario,
        targets_path=args.targets,
        think_time=args.think_time,
        stop_timeout=args.stop_timeout,
        scenario_paths=args.scenarios or [str(DEFAULT_SCENARIOS)],
    )
    try:
        load = run_load(settings)
    except (LoadRunError, ServiceError, TargetsError, ValueError) as exc:
        print(f"harness load: {exc}", file=sys.stderr)
        return 2
    doc = load.document()
    run_info = doc["run"]
    print(load.locust_summary.rstrip())
    print()
    print(
        f"Load run: {run_info['user']} user x {args.users}, {args.run_time}, scenario "
        f"{run_info['scenario'] or '(none)'}, {args.workers or 'no'} worker processes"
    )
    m = doc["measured"]
    print(
        f"{m['requests']} streams, {m['failures']} failed; TTFT p50 {fmt(m['ttft_ms']['p50'], 'ms')}, "
        f"p99 {fmt(m['ttft_ms']['p99'], 'ms')}; inter-token p50 {fmt(m['inter_token_ms']['p50'], 'ms')}; "
        f"total p50 {fmt(m['total_ms']['p50'], 'ms')}"
    )
    if memory := m.get("memory"):
        print(
            f"memory: {memory['recalled']} of {memory['turns']} turns read earlier turns; "
            f"retrieval p95 {fmt(memory['memory_ms']['p95'], 'ms')}"
        )
    reasons = doc.get("failure_reasons") or {}
    if reasons:
        print("failures by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    print(load.table())
    if hint := smaller_run_hint(load.verdicts, settings.targets_path):
        print(hint)
    if cpu := cpu_lines(doc.get("cpu")):
        print()
        print("\n".join(cpu))
    path = load.write(args.json)
    print(f"\n{'PASS' if load.passed else 'FAIL'}: results in {path}")
    return 0 if load.passed else 1


def smaller_run_hint(verdicts: list, targets_path: str | None) -> str | None:
    """When the run had fewer users than the targets ask for, how to check a smaller run."""
    if not any(v.target.metric == "users" and not v.ok for v in verdicts):
        return None
    return (
        "the targets file asks for more users than this run had: for a smaller machine or a "
        "shorter check, pass --targets FILE with limits of your own (start from a copy of "
        f"{targets_path or 'loadtests/targets.yaml'})"
    )

"""``harness repro SCENARIO_FILE_OR_NAME``: replay a scenario against the reference stack."""

from __future__ import annotations

import argparse
import sys

HELP = (
    "run the reference stack against a scenario; print the wire, what the stack did, and the "
    "verdict against its expect block"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.repro import DEFAULT_TIME_SCALE

    parser.add_argument(
        "scenario",
        metavar="SCENARIO_FILE_OR_NAME",
        help="a scenario file, or a scenario name (from ./scenarios, then the built-in catalogue)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        metavar="F",
        help=f"multiply every scenario wait by F (default {DEFAULT_TIME_SCALE:g})",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the mock's seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from harness.repro import ScenarioFileError, run_scenario

    if args.time_scale <= 0:
        print(f"harness repro: --time-scale must be > 0, got {args.time_scale:g}", file=sys.stderr)
        return 2
    try:
        result = run_scenario(args.scenario, time_scale=args.time_scale, seed=args.seed)
    except ScenarioFileError as exc:
        print(f"harness repro: {exc}", file=sys.stderr)
        return 2
    print(result.report_text())
    return 0 if result.ok else 1

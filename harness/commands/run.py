"""``harness run``: the main job behind ``make run``."""

from __future__ import annotations

import argparse
import sys

HELP = (
    "replay the catalogue of reported failures against the reference stack, run a load burst "
    "against the targets, print one verdict table and write reports/"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalogue", default="reported", help="scenario folder to replay (default: reported)")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="only these scenarios")
    p.add_argument("--no-load", action="store_true", help="skip the load burst")
    p.add_argument("-u", "--users", type=int, default=100, help="load burst users (default 100)")
    p.add_argument("-t", "--run-time", default="10s", help="load burst length (default 10s)")
    p.add_argument("--out", default="reports", help="report folder (default: reports)")


def run(args: argparse.Namespace) -> int:
    from harness.extras import LOAD, missing

    if not args.no_load and (problem := missing(LOAD, "load", "harness run")):
        print(f"{problem} (or run without the load burst: harness run --no-load)", file=sys.stderr)
        return 2
    from harness.main_job import JobSettings, run_job

    return run_job(
        JobSettings(
            catalogue=args.catalogue,
            load=not args.no_load,
            users=args.users,
            run_time=args.run_time,
            out_dir=args.out,
            only=args.only,
        )
    )

"""``harness``: the reference gateway, scenario repro, health checks, load runs."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="harness")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("version")
    args = p.parse_args(argv)
    if args.command == "version":
        from . import __version__

        print(__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())

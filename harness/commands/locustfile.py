"""``harness locustfile``: where the packaged Locust file is, for bare ``locust`` in any project."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = 'print the path of the Locust file shipped in the package: locust -f "$(harness locustfile)" ...'
LOCUSTFILE = Path(__file__).resolve().parents[1] / "loadtests" / "locustfile.py"
TARGETS = LOCUSTFILE.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--targets", action="store_true", help="print the folder of the target files (targets.yaml) instead"
    )


def run(args: argparse.Namespace) -> int:
    print(TARGETS if args.targets else LOCUSTFILE)
    return 0

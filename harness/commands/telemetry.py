"""``harness telemetry``: seed 004's two reports (retries per hour; timeout and rate-limit errors per
hour) from the gateway's SQLite telemetry."""

from __future__ import annotations

import argparse
import os

HELP = "Print the gateway's retry and error reports per hour from its telemetry database."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help="SQLite file (default TELEMETRY_DB or telemetry.db)")
    parser.add_argument("--hours", type=int, default=24, help="how far back to look (default 24)")


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from harness.gateway.telemetry import format_report, reports

    path = args.db or os.environ.get("TELEMETRY_DB") or "telemetry.db"
    if args.hours <= 0:
        print("harness telemetry: --hours must be > 0")
        return 2
    if not os.path.exists(path):
        print(f"harness telemetry: no telemetry database at {path} (run the gateway first, or pass --db)")
        return 2
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = reports(conn, args.hours)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        print(f"harness telemetry: cannot read {path}: {exc}")
        return 2
    print("\n\n".join(format_report(r) for r in found))
    return 0

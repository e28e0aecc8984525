"""``mockopenai``: serve the mock, validate and list scenarios."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable

from .config import MockConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mockopenai", description="A fault-injecting mock OpenAI API.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the mock API (base URL: http://HOST:PORT/v1)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="a scenario file or folder (repeatable)",
    )
    s.add_argument("--scenario", default=None, metavar="NAME", help="the default scenario")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every scenario wait by this (0.01: a 30 s stall takes 0.3 s)",
    )
    s.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="ID",
        help="a model the mock knows (repeatable; default: a built-in list)",
    )
    s.add_argument(
        "--api-key",
        action="append",
        default=None,
        metavar="KEY",
        help="accept only these keys (default: any non-empty Bearer key)",
    )
    v = sub.add_parser("validate", help="check scenario files")
    v.add_argument("paths", nargs="+")
    ls = sub.add_parser("scenarios", help="list scenarios with their descriptions")
    ls.add_argument("path", nargs="?", default="scenarios")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    from .scenario import cli_commands

    if args.command == "validate":
        return cli_commands.validate(args.paths)
    return cli_commands.list_scenarios(args.path)


def serve(args: argparse.Namespace) -> int:
    from .web_app import create_app
    from .web_runner import start_site

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = MockConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        time_scale=args.time_scale,
        scenario_paths=args.scenarios,
        default_scenario=args.scenario,
        api_keys=args.api_key,
    )
    if args.model:
        config.models = args.model
    try:
        app = create_app(config)
    except Exception as exc:  # a bad scenario file: say which and stop
        print(f"mockopenai: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        runner, port = await start_site(app, config.host, config.port)
        print(f"mockopenai serving on http://{config.host}:{port}/v1 (admin: /_mock/health)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    from .runtime import new_event_loop, settle_heap

    loop = new_event_loop()
    settle_heap()
    try:
        loop.run_until_complete(run())
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()
    return 0


def console(entry: Callable[[], int]) -> int:
    """Run a console script's ``entry``, tolerating a reader that stops early (``| head``)."""
    try:
        return entry()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


def run() -> int:
    """The ``mockopenai`` console script."""
    return console(main)


if __name__ == "__main__":
    sys.exit(run())

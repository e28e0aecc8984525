"""``mockopenai``: serve the mock, validate and list scenarios."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import MockConfig

if TYPE_CHECKING:
    from aiohttp import web


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mockopenai", description="A fault-injecting mock OpenAI API.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve",
        help="serve the mock API (base URL: http://HOST:PORT/v1)",
        description="Serve the mock API (base URL: http://HOST:PORT/v1). It listens with a backlog of "
        "2048 connections, and closes a connection that has not sent a whole request within 60 s.",
    )
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on; 0: a free one (default: 8000)")
    s.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="a scenario file or folder, added to the built-in catalogue (repeatable; a scenario of a "
        "built-in one's name replaces it)",
    )
    s.add_argument(
        "--scenario",
        default=None,
        metavar="NAME",
        help="the scenario of requests that name none (default: none)",
    )
    s.add_argument(
        "--seed", type=int, default=0, help="seed of generated content and fault draws (default: 0)"
    )
    s.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every scenario wait by this (0.01: a 30 s stall takes 0.3 s; default: 1.0)",
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
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on the one port (SO_REUSEPORT), sharing attempt counters, "
        "the journal, metrics, rate limits and background jobs in a temporary SQLite database "
        "(default: 1, everything in memory)",
    )
    s.add_argument(
        "--upstream",
        default=None,
        metavar="URL",
        help="forward every /v1 request to this base URL (e.g. https://api.openai.com/v1) with the "
        "client's own key; a request that selects a scenario gets its faults on the upstream's live "
        "answer (http_error, html_error, hang before the upstream is called; drop, stall, slow... on "
        "its events as they arrive), one that selects none passes through untouched (default: none, "
        "the mock answers itself)",
    )
    # a worker of serve --workers N (set by the parent, not by users)
    s.add_argument("--shared-state", default=None, help=argparse.SUPPRESS)
    s.add_argument("--worker-id", type=int, default=None, help=argparse.SUPPRESS)
    add_record_parser(sub)
    v = sub.add_parser("validate", help="check scenario files")
    v.add_argument("paths", nargs="+")
    ls = sub.add_parser("scenarios", help="list scenarios with their descriptions")
    ls.add_argument(
        "path",
        nargs="?",
        default=None,
        help="a file or folder (default: the built-in catalogue and ./scenarios)",
    )
    sub.add_parser(
        "schema",
        help="print the JSON Schema of scenario files (for editors: # yaml-language-server: $schema=<file>)",
    )
    sub.add_parser("faults", help="print every fault with its fields, as a Markdown table")
    return p


def add_record_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "record",
        help="relay to a real upstream and write each exchange as a scenario",
        description="A relay in front of a real OpenAI-compatible upstream: point a client's base URL "
        "at http://HOST:PORT/v1; each request goes to the upstream with the client's own headers and "
        "key, the answer comes back unchanged and unbuffered, and each exchange is written as a "
        "scenario (a replay of every frame with its timing; a 429 or 5xx as an http_error step). "
        "Requests of one X-Mock-Session (else of one client connection) are the attempts of one "
        "scenario, in order. The Authorization header and the key never reach a file.",
    )
    r.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the upstream's base URL as a client uses it, e.g. https://api.openai.com/v1 (required)",
    )
    r.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    r.add_argument("--port", type=int, default=8000, help="port to listen on; 0: a free one (default: 8000)")
    r.add_argument(
        "--out",
        default="scenarios/recorded/",
        metavar="FOLDER",
        help="where the scenario files (and side files of big payloads) go (default: scenarios/recorded/)",
    )
    r.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="NAME_OR_JSONPATH",
        help="a response header name, or a JSON path such as $.choices[*].message.content, whose "
        "values are written as [REDACTED] (repeatable; the key is always redacted; default: none)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "record":
        from .record.run import record

        return record(args)
    if args.command == "schema":
        from .scenario.json_schema import dumps

        sys.stdout.write(dumps())
        return 0
    if args.command == "faults":
        from .scenario.fault_table import markdown

        sys.stdout.write(markdown())
        return 0
    from .scenario import cli_commands

    if args.command == "validate":
        return cli_commands.validate(args.paths)
    return cli_commands.list_scenarios(args.path)


def serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("mockopenai: --workers must be at least 1", file=sys.stderr)
        return 2
    from .web_app import create_app

    config = config_of(args)
    try:
        app = create_app(config)
    except Exception as exc:  # a bad scenario file: say which and stop
        print(f"mockopenai: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and args.shared_state is None:
        from .web_workers import serve_workers

        return serve_workers(config, args.workers, worker_argv(args))
    return serve_one(app, config, worker=args.shared_state is not None)


def catalogue():
    from .scenario.loader import CATALOGUE  # here, not at the top: --help stays light

    return CATALOGUE


def config_of(args: argparse.Namespace) -> MockConfig:
    config = MockConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        time_scale=args.time_scale,
        # the built-in catalogue first, found by name from any folder; the user's files add to
        # it and replace a built-in scenario of the same name
        scenario_paths=[str(catalogue()), *args.scenarios],
        default_scenario=args.scenario,
        api_keys=args.api_key,
        shared_state=args.shared_state,
        worker=args.worker_id,
        upstream=args.upstream,
    )
    if args.model:
        config.models = args.model
    return config


def worker_argv(args: argparse.Namespace) -> list[str]:
    """The options a worker of ``serve --workers N`` is started with (all but the port)."""
    argv = ["--host", args.host, "--seed", str(args.seed), "--time-scale", repr(args.time_scale)]
    for path in args.scenarios:
        argv += ["--scenarios", path]
    if args.scenario:
        argv += ["--scenario", args.scenario]
    for model in args.model or ():
        argv += ["--model", model]
    for key in args.api_key or ():
        argv += ["--api-key", key]
    if args.upstream:
        argv += ["--upstream", args.upstream]
    return argv


def serve_one(app: web.Application, config: MockConfig, worker: bool = False) -> int:
    """Serve in this process until SIGINT or SIGTERM (a worker: also until its parent goes)."""
    from .web_runner import start_site

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    orphaned = False

    async def run() -> None:
        nonlocal orphaned
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner, port = await start_site(app, config.host, config.port, reuse_port=worker)
        if worker:
            # the parent holds our stdin open; when it goes (even killed), we go too
            def parent_check() -> None:
                nonlocal orphaned
                if not os.read(0, 4096):
                    loop.remove_reader(0)
                    orphaned = True
                    stop.set()

            loop.add_reader(0, parent_check)
            print(f"mockopenai worker {config.worker} (pid {os.getpid()}) ready", flush=True)
        else:
            print(f"mockopenai serving on http://{config.host}:{port}/v1 (admin: /_mock/health)", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    from servekit.runtime import new_event_loop, settle_heap

    loop = new_event_loop()
    settle_heap()
    try:
        loop.run_until_complete(run())
    except KeyboardInterrupt:  # a signal before the handlers were in place
        pass
    except OSError as exc:  # the port is taken, the host is not ours, ...
        print(
            f"mockopenai: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        loop.close()
        if orphaned and config.shared_state:
            forget_shared_state(config.shared_state)
    return 0


def forget_shared_state(path: str) -> None:
    """A worker whose parent was killed (and so could not clean up) removes the workers' folder;
    the other workers' open database handles keep working until they exit too."""
    from .shared_state import WORKERS_FOLDER_PREFIX

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(folder).startswith(WORKERS_FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


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

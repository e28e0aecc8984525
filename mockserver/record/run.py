"""Running ``mockopenai record`` until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from servekit.runtime import new_event_loop
from servekit.threaded import start_site

from ..upstream import UpstreamURL
from .proxy import Recorder, create_record_app


def writable_folder(out: Path) -> str | None:
    """Why recordings could not be written into ``out`` (made when missing), or None."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return "is a file, not a folder"
    except OSError as exc:
        return f"cannot be made: {exc.strerror or exc}"
    if not out.is_dir():
        return "is not a folder"
    if not os.access(out, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def record(args: argparse.Namespace) -> int:
    try:
        upstream = UpstreamURL(args.upstream)
    except ValueError as exc:
        print(f"mockopenai record: --upstream: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    problem = writable_folder(out)
    if problem:
        print(f"mockopenai record: --out {out}: {problem}", file=sys.stderr)
        return 2
    recorder = Recorder(upstream, out, args.redact)
    if any(r.startswith("$") for r in args.redact):
        try:
            recorder.redactor._jsonpaths()
        except Exception as exc:  # jsonpath-ng's parse errors have no common base
            print(f"mockopenai record: --redact: not a JSON path: {exc}", file=sys.stderr)
            return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_record_app(recorder)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner, port = await start_site(app, args.host, args.port)
        print(
            f"mockopenai recording http://{args.host}:{port}/v1 -> {upstream} into {out}/",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    loop = new_event_loop()
    try:
        loop.run_until_complete(run())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(
            f"mockopenai record: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        loop.close()
    return 0

"""``harness gateway``: the reference SSE chat gateway of seed 004."""

from __future__ import annotations

import argparse

HELP = (
    "Run the reference SSE chat gateway (POST /api/v1/chat) in front of an OpenAI-compatible API. "
    "It listens with a backlog of 2048 connections, and closes a connection that has not sent a "
    "whole request within 60 s."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="interface to bind (default GATEWAY_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default PORT or 3000)")
    parser.add_argument(
        "--upstream",
        default=None,
        metavar="URL",
        help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (default "
        "OPENAI_BASE_URL); a mock scenario can be pinned with .../s/<name>/v1",
    )
    parser.add_argument(
        "--heartbeat-ms",
        type=int,
        default=None,
        help="SSE heartbeat interval (default OPENAI_SSE_HEARTBEAT_MS or 10000)",
    )
    parser.add_argument(
        "--telemetry-db", default=None, help="SQLite file (default TELEMETRY_DB or telemetry.db)"
    )


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from harness.gateway.logs import configure_cli_logging
    from harness.gateway.settings import GatewaySettings, SettingsError
    from harness.gateway.web_gateway import create_gateway_app
    from servekit.runtime import new_event_loop, settle_heap

    overrides = {
        name: value
        for name, value in (
            ("host", args.host),
            ("port", args.port),
            ("openai_base_url", args.upstream),
            ("heartbeat_ms", args.heartbeat_ms),
            ("telemetry_db", args.telemetry_db),
        )
        if value is not None
    }
    try:
        settings = GatewaySettings.from_env(**overrides)
    except SettingsError as exc:
        print(f"harness gateway: {exc}")
        return 2
    configure_cli_logging()
    app = create_gateway_app(settings)

    async def settle(app: web.Application) -> None:  # after the upstream client is built
        settle_heap()

    app.on_startup.append(settle)
    print(f"gateway on http://{settings.host}:{settings.port} -> {settings.openai_base_url}", flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        handler_cancellation=True,
        backlog=2048,  # 500+ clients connecting at once must not overflow the listen queue (128)
        access_log=None,
        print=None,
        shutdown_timeout=2.0,
        loop=new_event_loop(),
    )
    return 0

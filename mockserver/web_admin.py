"""The admin API under ``/_mock/``: health, scenarios, journal, reset, metrics."""

from __future__ import annotations

import os

from aiohttp import web

from . import __version__
from .app_keys import CONFIG, ENGINE, JOURNAL


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/_mock/health", health)
    app.router.add_get("/_mock/journal", journal)
    app.router.add_post("/_mock/reset", reset)
    app.router.add_get("/_mock/scenarios", scenarios)
    app.router.add_get("/_mock/metrics", metrics)


async def health(request: web.Request) -> web.Response:

    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "models": len(request.app[CONFIG].models),
            "scenarios": len(request.app[ENGINE].names()),
            "worker": request.app[CONFIG].worker,  # serve --workers N: which one answered (1..N)
            "pid": os.getpid(),
        }
    )


async def journal(request: web.Request) -> web.Response:
    """``GET /_mock/journal[?session=]``: entries oldest first."""

    session = request.query.get("session")
    return web.json_response([e.to_dict() for e in request.app[JOURNAL].entries(session)])


def reset_session(app: web.Application, session: str | None) -> None:
    """Forget journal entries, attempt counters and rate limits of ``session`` (None: all).
    Run it on the server's loop (the engine's state belongs to it)."""

    app[JOURNAL].reset(session)
    app[ENGINE].reset(session)


async def reset(request: web.Request) -> web.Response:
    """``POST /_mock/reset[?session=]``: see :func:`reset_session`."""
    session = request.query.get("session")
    reset_session(request.app, session)
    return web.json_response({"reset": True, "session": session})


async def scenarios(request: web.Request) -> web.Response:
    """``GET /_mock/scenarios``: name, description, reproduces, match and file of each."""

    engine = request.app[ENGINE]
    return web.json_response({"default": engine.default, "scenarios": engine.summaries()})


async def metrics(request: web.Request) -> web.Response:
    """``GET /_mock/metrics``: Prometheus text (requests, faults fired, stream endings, TTFT)."""

    journal = request.app[JOURNAL]
    text = journal.metrics().prometheus() + (
        "# HELP mockopenai_sessions Sessions the journal holds (the least recently used leave first).\n"
        "# TYPE mockopenai_sessions gauge\n"
        f"mockopenai_sessions {journal.session_count()}\n"
    )
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"X-Content-Type-Options": "nosniff"}
    )

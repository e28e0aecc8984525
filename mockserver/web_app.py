"""The aiohttp application: middleware (request id, journal, auth, scenario selection), routes.

Every ``/v1`` route is also served under ``/s/<scenario>/v1`` for clients that can only set a
base URL. Handlers live in ``mockserver/api/``; the admin API in :mod:`mockserver.web_admin`.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from . import errors
from .app_keys import CLOCK, CONFIG, CTX, DELIVERY, ENGINE, JOURNAL, OPENAI_VERSION, SHARED_DB, STATE
from .clock import Clock
from .config import MockConfig
from .content import random_id
from .context import RequestContext
from .delivery import Delivery, request_clock
from .journal import DEFAULT_SESSION, Journal
from .scenario.engine import ScenarioEngine
from .scenario.loader import CATALOGUE
from .web_handling import base_headers, check_model, error_response, plan, read_json, send

log = logging.getLogger("mockserver")


# re-exported: the app's keys and the handlers' helpers, by the names they always had here
__all__ = [
    "CLOCK",
    "CONFIG",
    "CTX",
    "DELIVERY",
    "ENGINE",
    "JOURNAL",
    "OPENAI_VERSION",
    "SHARED_DB",
    "STATE",
    "base_headers",
    "check_model",
    "create_app",
    "error_response",
    "plan",
    "read_json",
    "send",
]


@web.middleware
async def mock_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]):
    if request.path.startswith("/_mock"):
        return await handler(request)
    app = request.app
    clock, journal, engine = app[CLOCK], app[JOURNAL], app[ENGINE]
    config = app[CONFIG]
    t0 = clock.monotonic()
    request_id = "req_" + random_id("", 32)
    session = request.headers.get("X-Mock-Session") or DEFAULT_SESSION
    scenario = (
        request.headers.get("X-Mock-Scenario")
        or request.match_info.get("scenario")
        or config.default_scenario
    )
    retry = request.headers.get("x-stainless-retry-count")
    entry = journal.open(
        request_id,
        request.method,
        request.path,
        session,
        t0,
        clock.wall(),
        scenario=scenario,
        # a count, not a number to convert at any length: 5,000 digits made int() raise (before auth)
        retry_count=int(retry) if retry and retry.isdigit() and len(retry) <= 9 else None,
        user_agent=request.headers.get("User-Agent", "")[:200] or None,
    )
    ctx = RequestContext(
        request_id=request_id, session=session, scenario=scenario, entry=entry, t0=t0, seed=config.seed
    )
    request[CTX] = ctx
    try:
        if scenario and not engine.has(scenario):
            close = difflib.get_close_matches(scenario, list(engine.names()), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            where = ", ".join(_shown_path(p) for p in config.scenario_paths) or "nowhere"
            raise errors.ApiError(
                400,
                f"Unknown mock scenario '{scenario}'.{hint} This server knows {len(engine.names())} "
                f"scenarios, loaded from: {where} (GET /_mock/scenarios lists them).",
                param="X-Mock-Scenario",
                code="unknown_scenario",
            )
        if config.upstream is None:  # in front of an upstream, the upstream judges the key
            _check_auth(request, config)
        ctx.clock = request_clock(request, clock)  # the one place a request's clock is chosen
        return await handler(request)
    except errors.ApiError as err:
        return error_response(err, ctx, clock)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(
                errors.ApiError(404, f"Invalid URL ({request.method} {request.path})"), ctx, clock
            )
        if exc.status == 405:
            return error_response(
                errors.ApiError(405, f"Invalid method for URL ({request.method} {request.path})"), ctx, clock
            )
        if exc.status == 413:
            return error_response(errors.request_too_large(request.app._client_max_size), ctx, clock)
        if exc.status >= 400:
            return error_response(errors.ApiError(exc.status, exc.reason), ctx, clock)
        raise
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        # a bug of the mock's own: logged with its traceback, answered as OpenAI answers its own
        log.exception("request failed: %s %s", request.method, request.path)
        ctx.entry.ended = ctx.entry.ended or "error"
        if ctx.entry.status is None:
            return error_response(errors.server_error(), ctx, clock)
        raise
    finally:
        journal.finish(entry)  # the shared journal's row gets the final state


def _check_auth(request: web.Request, config: MockConfig) -> None:
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise errors.missing_api_key()
    if config.api_keys is not None and key not in config.api_keys:
        raise errors.invalid_api_key(key)


# --- helpers for handlers -------------------------------------------------------------------


# --- the application ------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: MockConfig | None = None, engine: ScenarioEngine | None = None) -> web.Application:
    from .api import chat, embeddings, images, models, realtime, responses
    from .web_admin import add_admin_routes

    config = config or MockConfig()
    app = web.Application(middlewares=[mock_middleware], client_max_size=64 * 1024 * 1024)
    clock = Clock(config.time_scale)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[ENGINE] = engine or load_engine(config)
    app[ENGINE].use_clock(clock)  # windows and rate-limit refills follow the time scale
    app[DELIVERY] = Delivery(clock)
    app[STATE] = {}
    if config.shared_state is None:
        app[JOURNAL] = Journal(config.journal_size)
    else:  # one of the processes of serve --workers N: the state lives in their database
        share_state(app, config.shared_state, config.worker or 0)

    if config.upstream is not None:  # serve --upstream: every /v1 request goes there
        from .upstream_proxy import add_upstream_routes

        add_upstream_routes(app, config.upstream)
        add_admin_routes(app)
        return app
    routes: list[tuple[str, str, Handler]] = []
    for module in (models, chat, responses, images, embeddings, realtime):
        routes.extend(module.ROUTES)
    for method, path, handler in routes:
        app.router.add_route(method, "/v1" + path, handler)
        app.router.add_route(method, "/s/{scenario}/v1" + path, handler)
    add_admin_routes(app)
    return app


def _shown_path(path: str) -> str:
    return "the built-in catalogue" if Path(path).resolve() == CATALOGUE.resolve() else str(path)


def share_state(app: web.Application, path: str, worker: int) -> None:
    """Keep attempts, rate limits, the journal and stored responses in the workers' database."""
    from .api.responses_store import STATE_KEY, SharedResponseStore
    from .journal import SharedJournal
    from .shared_state import SharedDB

    db = SharedDB(path)
    journal = app[JOURNAL] = SharedJournal(db, worker, app[CONFIG].journal_size)
    app[DELIVERY].publish = journal.publish
    app[DELIVERY].reveal = journal.reveal
    app[ENGINE].share(db)
    app[STATE][SHARED_DB] = db
    app[STATE][STATE_KEY] = SharedResponseStore(db)

    async def close(_app: web.Application) -> None:
        db.close()

    app.on_cleanup.append(close)


def load_engine(config: MockConfig) -> ScenarioEngine:
    """Build the engine from the configured scenario paths (see mockserver.scenario)."""
    from .scenario import loader

    return loader.engine_from_paths(config.scenario_paths, default=config.default_scenario, seed=config.seed)

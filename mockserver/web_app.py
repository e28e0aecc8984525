"""The aiohttp application: middleware (request id, journal, auth, scenario selection), routes.

Every ``/v1`` route is also served under ``/s/<scenario>/v1`` for clients that can only set a
base URL. Handlers live in ``mockserver/api/``; the admin API in :mod:`mockserver.web_admin`.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from . import errors
from .clock import Clock
from .config import MockConfig
from .content import random_id
from .context import RequestContext
from .delivery import Delivery
from .journal import DEFAULT_SESSION, Journal
from .reply import Reply
from .scenario.engine import ScenarioEngine, Step

log = logging.getLogger("mockserver")

CONFIG = web.AppKey("config", MockConfig)
CLOCK = web.AppKey("clock", Clock)
JOURNAL = web.AppKey("journal", Journal)
ENGINE = web.AppKey("engine", ScenarioEngine)
DELIVERY = web.AppKey("delivery", Delivery)
STATE = web.AppKey("state", dict)  # per-resource stores (responses, background jobs, ...)
SHARED_DB = "shared_db"  # app[STATE][SHARED_DB]: the workers' database (serve --workers N)

CTX = web.RequestKey("mock_ctx", RequestContext)
OPENAI_VERSION = "2020-10-01"


def base_headers(ctx: RequestContext, clock: Clock) -> dict[str, str]:
    elapsed = max(1, int((clock.monotonic() - ctx.t0) * 1000))
    return {
        "x-request-id": ctx.request_id,
        "openai-version": OPENAI_VERSION,
        "openai-organization": "org-mock",
        "openai-processing-ms": str(elapsed),
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-tokens": "29999000",
        "x-ratelimit-reset-tokens": "2ms",
    }


def error_response(err: errors.ApiError, ctx: RequestContext | None, clock: Clock) -> web.Response:
    headers = base_headers(ctx, clock) if ctx else {}
    headers.update(err.headers)
    if ctx:
        ctx.entry.status = err.status
        ctx.entry.ended = "complete"
    return web.json_response(err.body, status=err.status, headers=headers)


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
    )
    ctx = RequestContext(
        request_id=request_id, session=session, scenario=scenario, entry=entry, t0=t0, seed=config.seed
    )
    request[CTX] = ctx
    try:
        if scenario and not engine.has(scenario):
            known = ", ".join(engine.names()) or "none loaded"
            close = difflib.get_close_matches(scenario, list(engine.names()), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise errors.ApiError(
                400,
                f"Unknown mock scenario '{scenario}'.{hint} Known scenarios: {known}.",
                param="X-Mock-Scenario",
                code="unknown_scenario",
            )
        _check_auth(request, config)
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


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as exc:
        # orjson is strict where the stdlib is not (NaN, UTF-16 bodies, huge integers): the
        # stdlib decides what is accepted, orjson only makes the common case fast. Two of its
        # refusals stand: a lone surrogate (no reply or journal could encode it back) and nesting
        # past 1024 levels (the stdlib recurses until a RecursionError)
        reason = str(exc)
        if "surrogate" in reason or "depth" in reason or "recursion" in reason:
            raise errors.invalid_json() from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_json()
    return body


def check_model(request: web.Request, model: str) -> None:
    if model not in request.app[CONFIG].models:
        raise errors.model_not_found(model)


def plan(request: web.Request, endpoint: str, stream: bool, model: str | None) -> Step:
    """Record what this request is and ask the engine which step of its scenario it gets."""
    ctx: RequestContext = request[CTX]
    entry = ctx.entry
    entry.endpoint, entry.stream, entry.model = endpoint, stream, model
    step = request.app[ENGINE].step(ctx, endpoint, stream, model)
    ctx.attempt = entry.attempt = step.attempt
    return step


async def send(request: web.Request, step: Step | None, reply: Reply) -> web.StreamResponse:
    """Apply the step's faults to the reply and deliver it."""
    app = request.app
    ctx: RequestContext = request[CTX]
    if step is not None:
        reply = app[ENGINE].apply(step, reply, ctx)
    return await app[DELIVERY].deliver(request, reply, ctx, base_headers(ctx, app[CLOCK]))


# --- the application ------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: MockConfig | None = None, engine: ScenarioEngine | None = None) -> web.Application:
    from .api import chat, images, models, realtime, responses
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

    routes: list[tuple[str, str, Handler]] = []
    for module in (models, chat, responses, images, realtime):
        routes.extend(module.ROUTES)
    for method, path, handler in routes:
        app.router.add_route(method, "/v1" + path, handler)
        app.router.add_route(method, "/s/{scenario}/v1" + path, handler)
    add_admin_routes(app)
    return app


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

"""What every handler of the mock does: read the JSON body, check the model, ask the scenario
engine for this attempt's step (:func:`plan`), and hand the Reply to the faults and delivery
(:func:`send`); and the headers and error replies every answer carries. The API modules use
these; the app (``web_app.py``) routes to them, so nothing imports back into the app."""

from __future__ import annotations

import itertools
import json
from typing import Any, Protocol

import orjson
from aiohttp import web

from . import errors
from .app_keys import CLOCK, CONFIG, CTX, DELIVERY, ENGINE, OPENAI_VERSION
from .clock import Clock
from .context import RequestContext
from .replay import reply_of as replay_of
from .reply import Reply
from .scenario.engine import Step

MAX_JOURNALLED_FIELDS = 64  # a hostile body's thousand keys do not grow the journal


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
    ctx = request.get(CTX)
    if ctx is not None:  # what the client sent, for the journal: the field names, not their values
        ctx.entry.body_fields = sorted(k[:64] for k in itertools.islice(body, MAX_JOURNALLED_FIELDS))
    return body


def check_model(request: web.Request, model: str) -> None:
    if model not in request.app[CONFIG].models and not request.app[ENGINE].replays(request[CTX].scenario):
        raise errors.model_not_found(model)  # a recording knows its upstream's models: it decides


def plan(request: web.Request, endpoint: str, stream: bool, model: str | None) -> Step:
    """Record what this request is and ask the engine which step of its scenario it gets."""
    ctx: RequestContext = request[CTX]
    entry = ctx.entry
    entry.endpoint, entry.stream, entry.model = endpoint, stream, model
    step = request.app[ENGINE].step(ctx, endpoint, stream, model)
    ctx.attempt = entry.attempt = step.attempt
    return step


class Deliverer(Protocol):
    """What writes a Reply to the client: the HTTP/SSE :class:`~mockserver.delivery.Delivery` (the
    app's), or one WebSocket connection's :class:`~mockserver.delivery_ws.WsChannel`."""

    async def deliver(
        self, request: web.Request, reply: Reply, ctx: RequestContext, base_headers: dict[str, str]
    ) -> web.StreamResponse: ...


def faulted(request: web.Request, step: Step | None, reply: Reply) -> Reply:
    """The reply as the step's faults leave it."""
    return reply if step is None else request.app[ENGINE].apply(step, reply, request[CTX])


async def send(
    request: web.Request, step: Step | None, reply: Reply, via: Deliverer | None = None
) -> web.StreamResponse:
    """Apply the step's faults to the reply and deliver it (over HTTP unless ``via`` says)."""
    app = request.app
    ctx: RequestContext = request[CTX]
    if step is not None and step.response.replay is not None:
        reply = replay_of(step.response.replay, reply)  # a recording is this reply's source
    deliverer = via if via is not None else app[DELIVERY]
    return await deliverer.deliver(request, faulted(request, step, reply), ctx, base_headers(ctx, app[CLOCK]))

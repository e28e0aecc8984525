"""``/v1/responses``: create (plain, streaming, background), retrieve / resume, cancel, delete.

The request is validated in :mod:`.responses_request`, the payloads and the event stream are
built in :mod:`.responses_events`, and stored responses live in :mod:`.responses_store` as
timelines that advance with the app's clock. The handlers here only wire those together and
hand a :class:`Reply` to ``send``, which applies the scenario's faults and delivers it.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)

from .. import errors
from ..app_keys import CLOCK, CONFIG, CTX, STATE
from ..clock import Clock
from ..content import new_id
from ..endpoints import RESPONSES, RESPONSES_CANCEL, RESPONSES_RETRIEVE
from ..reply import Reply, StreamEvent, Vocabulary, reported_usage
from ..web_handling import plan, read_json, send
from . import request_types
from .pace import PACE_HEADER, responses_pace
from .responses_events import build_events, plan_outputs
from .responses_request import parse_request
from .responses_store import (
    Job,
    ResponseStore,
    cannot_cancel,
    cannot_stream,
    previous_not_found,
    store_of,
)

CANCELLABLE = ("queued", "in_progress", "cancelled")  # cancelling twice returns the cancelled response


def _error_event(error: dict[str, Any], previous: list[StreamEvent]) -> StreamEvent:
    """The Responses API's in-band error: an ``error`` event numbered after the last one sent."""
    last = previous[-1].data if previous else None
    seq = last.get("sequence_number") if isinstance(last, dict) else None
    payload = {
        "type": "error",
        "code": error["code"],
        "message": error["message"],
        "param": None,
        "sequence_number": seq + 1 if isinstance(seq, int) else len(previous),
    }
    return StreamEvent(payload, event="error", type="error", terminal=True)


# how the Responses API speaks, for the faults (see mockserver.reply.Vocabulary): its usage is
# inside the response object its events carry
VOCABULARY = Vocabulary(
    RESPONSES,
    error_event=_error_event,
    tokens=lambda reply: reported_usage(reply, inner="response"),
    malformed='{"type": "response.output_text.delta", "sequence_number": 1, "delta": "unterminated',
)


def _store(request: web.Request) -> ResponseStore:
    return store_of(request.app[STATE])


def _clock(request: web.Request) -> Clock:
    """The clock this request's waits run on (chosen by the middleware: X-Mock-Time-Scale)."""
    return request[CTX].clock or request.app[CLOCK]


async def create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    req = parse_request(body)
    request_types.check(
        body,
        ResponseCreateParamsStreaming if req.stream else ResponseCreateParamsNonStreaming,
        own=frozenset({"input"}),
    )
    if req.model not in request.app[CONFIG].models:
        raise errors.responses_model_not_found(req.model)
    store = _store(request)
    if req.previous_response_id is not None and not store.has(req.previous_response_id):
        raise previous_not_found(req.previous_response_id)
    step = plan(request, RESPONSES, req.stream, req.model)
    ctx = request[CTX]
    clock = _clock(request)
    rid = new_id("resp_", ctx.seed, ctx.request_id, length=48)
    pace = responses_pace(
        step.response,
        scenario_applies=step.attempt > 0,
        background=req.background,
        prompt=" ".join(filter(None, (req.instructions, req.last_user_text()))),
        header=request.headers.get(PACE_HEADER),
    )
    outputs = plan_outputs(req, pace.spec, ctx.seed, rid)
    events = build_events(req, rid, int(clock.wall()), outputs, pace.spec, clock.time_scale, pace.queue_ms)
    job = Job.start(rid, req.model, req.background, events, clock)
    if req.store:
        store.add(job)
    if req.stream:
        reply = Reply(events=store.follow(job, -1, 0.0), model=req.model, vocabulary=VOCABULARY)
    elif req.background:
        reply = Reply(body=copy.deepcopy(events[0].data["response"]), model=req.model, vocabulary=VOCABULARY)
    else:
        reply = Reply(body=job.final(), delay_ms=job.due_ms[-1], model=req.model, vocabulary=VOCABULARY)
    return await send(request, step, reply)


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/responses/{id}``: the state now; with ``stream=true`` the event log after
    ``starting_after``, then the live job's events as they fall due."""
    store = _store(request)
    rid = request.match_info["response_id"]
    job = store.get(rid)
    stream = _query_bool(request, "stream")
    starting_after = _query_int(request, "starting_after", -1)
    if stream and not job.background:
        raise cannot_stream(rid)
    step = plan(request, RESPONSES_RETRIEVE, stream, job.model)
    clock = _clock(request)
    now = job.now_ms(clock.monotonic())
    if stream:
        reply = Reply(
            events=store.follow(job, starting_after, now, clock.time_scale),
            model=job.model,
            vocabulary=VOCABULARY,
        )
    else:
        reply = Reply(body=job.snapshot(now), model=job.model, vocabulary=VOCABULARY)
    return await send(request, step, reply)


async def cancel(request: web.Request) -> web.StreamResponse:
    store = _store(request)
    job = store.get(request.match_info["response_id"])
    now = job.now_ms(Clock.monotonic())
    status = job.status(now)
    if not job.background or status not in CANCELLABLE:
        raise cannot_cancel(job, status)
    step = plan(request, RESPONSES_CANCEL, False, job.model)
    store.cancel(job, now)
    return await send(request, step, Reply(body=job.snapshot(now), model=job.model, vocabulary=VOCABULARY))


async def delete(request: web.Request) -> web.StreamResponse:
    rid = request.match_info["response_id"]
    _store(request).delete(rid)
    request[CTX].entry.endpoint = "responses.delete"
    return await send(request, None, Reply(body={"id": rid, "object": "response", "deleted": True}))


def _query_bool(request: web.Request, name: str) -> bool:
    value = request.query.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise errors.invalid_value(
            name, f"Invalid value for '{name}': expected a boolean, but got '{value}' instead."
        )
    return value.lower() in ("true", "1")


def _query_int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.invalid_type(name, "an integer", value) from None


ROUTES = [
    ("POST", "/responses", create),
    ("GET", "/responses/{response_id}", retrieve),
    ("DELETE", "/responses/{response_id}", delete),
    ("POST", "/responses/{response_id}/cancel", cancel),
]

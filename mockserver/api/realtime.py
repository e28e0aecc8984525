"""``GET /v1/realtime?model=…``: the Realtime API over WebSocket.

Before the upgrade it checks like the real endpoint (Bearer auth in the middleware, ``model``);
the connection is one journal entry (endpoint ``realtime``, status 101) and one attempt of its
scenario. Faults that replace a reply (``http_error``, ``html_error``, ``rate_limit``, ``hang``,
``reset`` before any byte) act on the upgrade itself; the others apply to the event list of
each response on the connection, through the same engine as every SSE stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

from aiohttp import web

from .. import errors
from ..app_keys import CLOCK, CTX, SHARED_DB, STATE
from ..clock import Clock
from ..context import RequestContext
from ..delivery_ws import WsChannel
from ..endpoints import REALTIME
from ..reply import COMPLETE, Reply, StreamEvent, Vocabulary
from ..scenario.engine import Step
from ..web_handling import base_headers, check_model, faulted, plan, send
from . import realtime_events as E
from .realtime_session import Outcome, RealtimeSession

ENDPOINT = REALTIME


def _error_event(error: dict[str, Any], previous: list[StreamEvent]) -> StreamEvent:
    """The Realtime API's in-band error: an ``error`` server event with its own event id."""
    payload = {
        "type": "error",
        "event_id": f"event_error{len(previous):04d}",
        "error": {**error, "event_id": None},
    }
    return StreamEvent(payload, event="error", type="error", terminal=True)


# how the Realtime API speaks, for the faults (see mockserver.reply.Vocabulary)
VOCABULARY = Vocabulary(
    ENDPOINT,
    error_event=_error_event,
    malformed='{"type": "response.output_audio.delta", "event_id": "event_bad", "delta": "unterminated',
)


def connection_key(request: web.Request, ctx: RequestContext) -> str:
    """A deterministic name for this connection: its session and how many came before it."""
    state = request.app[STATE]
    shared = state.get(SHARED_DB)
    if shared is not None:  # serve --workers N: counted across the workers
        n = shared.count("realtime_connections", ctx.session)
    else:
        counts = state.setdefault("realtime_connections", {})
        n = counts[ctx.session] = counts.get(ctx.session, 0) + 1
    return f"{ctx.scenario}/{ctx.session}/{n}"


def refusal(step: Step, opening: StreamEvent, model: str, ctx: RequestContext, request: web.Request) -> Reply:
    """The step's faults applied to the connection's opening: a reply without events (an error
    status, a reset before any byte) or one that never starts means the upgrade is refused."""
    return faulted(request, step, Reply(events=[opening], model=model, vocabulary=VOCABULARY))


def response_step(step: Step) -> Step:
    """The step as it applies to one response's events: without the connection-level faults."""
    return replace(step, faults=[f for f in step.faults if not f.replaces_reply])


async def connect(request: web.Request) -> web.StreamResponse:
    model = request.query.get("model")
    if not model:
        raise errors.missing_param("model")
    check_model(request, model)
    ctx: RequestContext = request[CTX]
    clock = ctx.clock or request.app[CLOCK]  # chosen by the middleware (X-Mock-Time-Scale)
    channel = WsChannel(request, ctx, clock)
    if not channel.ws.can_prepare(request).ok:
        raise errors.ApiError(
            400,
            "The Realtime API requires a WebSocket connection (GET with 'Upgrade: websocket').",
            code="websocket_required",
        )
    step = plan(request, ENDPOINT, True, model)
    session = RealtimeSession(ctx.seed, connection_key(request, ctx), model, request.app[CLOCK].wall())
    opening = session.created()
    probe = refusal(step, StreamEvent(opening, type="session.created"), model, ctx, request)
    if probe.events is None or probe.hangs:  # refused: the faults' answer goes out over HTTP
        return await send(request, None, probe)
    ctx.entry.faults = [f.name for f in step.faults]
    await channel.open({**base_headers(ctx, clock), **probe.headers})
    conversation = Conversation(request, channel, session, response_step(step), model, clock)
    try:
        await channel.send([opening])
        await conversation.run()
    except ConnectionResetError:
        pass
    finally:
        await conversation.stop()
        channel.finish()
    return channel.ws


class Conversation:
    """The read loop of one connection. Responses play in tasks (one writing to the
    conversation, any number out of band) so client events keep flowing; with the server VAD's
    ``idle_timeout_ms`` set, a timer on the request's clock fires when no speech follows the last
    response's audio for that long."""

    def __init__(
        self,
        request: web.Request,
        channel: WsChannel,
        session: RealtimeSession,
        step: Step,
        model: str,
        clock: Clock,
    ) -> None:
        self.request, self.channel, self.session, self.step, self.model = (
            request,
            channel,
            session,
            step,
            model,
        )
        self.clock = clock
        self.tasks: dict[str, asyncio.Task] = {}  # response id -> the task playing it
        self.idle_from: float | None = None  # monotonic s: the last response's audio ended
        self.idle_timer: asyncio.Task | None = None
        self.idle_deadline: float | None = None

    async def run(self) -> None:
        async for raw in self.channel.messages():
            outcome = self.session.handle(raw, self.step.response)
            await self.apply(outcome)
            if self.channel.gone:
                break

    async def apply(self, outcome: Outcome) -> None:
        if outcome.events:
            await self.channel.send(outcome.events)
        if any(ev.get("type") == "input_audio_buffer.speech_started" for ev in outcome.events):
            self.idle_from = None  # the user speaks: no idle timeout until the next answer ends
        if outcome.cancel is not None:
            await self.cancel(outcome.cancel, outcome.cancel_reason)
        if outcome.response is not None:
            plan = outcome.response
            self.tasks[plan.response_id] = asyncio.create_task(self.respond(plan))
        self.rearm()

    async def respond(self, response: E.ResponsePlan) -> None:
        events = E.response_events(self.session.ids, response, self.step.response)
        reply = faulted(
            self.request, self.step, Reply(events=events, model=self.model, vocabulary=VOCABULARY)
        )
        try:
            await send(self.request, None, reply, via=self.channel)
            ending = self.channel.ending  # read before any other response's delivery can run
        except ConnectionResetError:
            ending = None
        finished = ending == COMPLETE and bool(reply.events) and reply.events[-1].type == "response.done"
        self.session.finished(response, delivered=finished)
        self.tasks.pop(response.response_id, None)
        if response.in_conversation:
            playback = response.audio_ms if finished and response.is_audio else 0.0
            self.answered(self.clock.seconds(playback))

    async def cancel(self, response: E.ResponsePlan, reason: str) -> None:
        task = self.tasks.pop(response.response_id, None)
        if task is None or task.done():  # it ended while the outcome was being sent
            self.session.finished(response, delivered=False)
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await task
        self.session.finished(response, delivered=False)
        await self.channel.send([self.session.cancelled_done(response, reason)])
        if response.in_conversation and reason != "turn_detected":
            self.answered(0.0)

    # --- the idle timeout --------------------------------------------------------------------

    def answered(self, playback_s: float) -> None:
        """The conversation's response ended; its audio plays for ``playback_s`` more."""
        self.idle_from = Clock.monotonic() + playback_s
        self.rearm()

    def rearm(self) -> None:
        """(Re)start the idle timer for the session as it is now, or stop it."""
        timeout = self.session.idle_timeout_ms()
        deadline = None
        if (
            timeout is not None
            and self.idle_from is not None
            and self.session.active is None
            and not self.session.vad.speaking
        ):
            deadline = self.idle_from + self.clock.seconds(timeout)
        if deadline == self.idle_deadline and self.idle_timer is not None and not self.idle_timer.done():
            return
        if self.idle_timer is not None and not self.idle_timer.done():
            self.idle_timer.cancel()
        self.idle_timer, self.idle_deadline = None, deadline
        if deadline is not None:
            self.idle_timer = asyncio.create_task(self.idle(deadline))

    async def idle(self, deadline: float) -> None:
        await Clock.sleep_until(deadline)
        self.idle_timer, self.idle_deadline, self.idle_from = None, None, None
        try:
            await self.apply(self.session.timeout_triggered(self.step.response))
        except ConnectionResetError:
            pass

    async def stop(self) -> None:
        timers = [self.idle_timer] if self.idle_timer is not None else []
        tasks, self.tasks, self.idle_timer = [*timers, *self.tasks.values()], {}, None
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await task


ROUTES = [("GET", "/realtime", connect)]

"""``stack.drive: sdk``: bare calls through the official ``openai`` SDK, with its own retries.

``stack.input``: ``endpoint`` (default: the scenario's ``match.endpoint``, else chat.completions),
``stream`` (default: ``match.stream``), ``model``, ``message``, ``max_retries`` (default 2, the
SDK's), ``timeout_ms`` (scenario time), ``calls`` (how many calls, default 1), ``concurrency`` (how
many of them at a time, default 1: one after the other), ``partial_images`` (image streams ask
for that many, default 2; on ``responses`` it adds the ``image_generation`` tool), ``helper``
(``responses`` stream: read it through the SDK's ``responses.stream()`` helper and its
``get_final_response()``).

Facts under ``sdk``: outcome (ok|error), error (the exception as a traceback's last line names
it), exception, status_code, text, finish_reason, events, event_types, partial_images (partial
image events received), completed (a ``*.completed`` event arrived), done (``data: [DONE]``
arrived), comments (SSE comment lines the client received, e.g. heartbeats), out_of_order (events
whose ``sequence_number`` is below the one before), ttft_ms and token_spread_ms (streams, scenario
time: from the call to its first text, and from the first text to the last), ratelimit (the
``x-ratelimit-*`` headers of the last response), remaining_requests and remaining_tokens (per
response), retries (attempts sent with ``x-stainless-retry-count`` > 0, from the mock's journal),
retry_waits_ms and min_retry_wait_ms (from an attempt's arrival to its retry's, in real
milliseconds: retry-after headers are obeyed in real time at any time scale; not measured with
``concurrency`` > 1).
With ``calls`` > 1 the per-call facts are the last call's (error, exception and status_code the
first failure's), and ``outcomes`` (ok or the exception's class, per call), ``first_failed_call``
(1-based), ``error_rate`` and ``retry_rate`` (retries per call) say how the run went.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from typing import Any

import openai

from mockserver import endpoints as E
from mockserver.picture import render_b64

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError
from . import error_text, journal_entries, retry_facts
from .client_tap import TapTransport

DEFAULT_MODELS = {"images.generations": "gpt-image-1", "images.edits": "gpt-image-1"}
MAX_CALL_LINES = 10  # more calls than this: the report names only the failed ones, and counts statuses
ENDPOINTS = ("models", "chat.completions", "responses", "images.generations", "images.edits")


class Observation:
    """Folds one call's stream events (or its one reply) into facts."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.started = time.perf_counter()
        self.types: list[str] = []
        self.text: list[str] = []
        self.ttft_ms: float | None = None
        self.token_spread_ms: float | None = None
        self.out_of_order = 0
        self._last_seq: int | None = None
        self.facts: dict[str, Any] = {}

    def add_text(self, text: str) -> None:
        if text:
            since_start = self.ctx.scenario_ms(time.perf_counter() - self.started)
            if self.ttft_ms is None:
                self.ttft_ms = since_start
            self.token_spread_ms = round(since_start - self.ttft_ms, 1)
        self.text.append(text)

    def add_event(self, event: Any) -> None:
        kind = getattr(event, "type", None) or getattr(event, "object", None) or type(event).__name__
        self.types.append(kind)
        seq = getattr(event, "sequence_number", None)
        if isinstance(seq, int):
            if self._last_seq is not None and seq < self._last_seq:
                self.out_of_order += 1
            self._last_seq = seq
        if kind == "response.output_text.delta":
            self.add_text(event.delta)
        for choice in getattr(event, "choices", None) or ():
            self.add_text(choice.delta.content or "")
            if choice.finish_reason:
                self.facts["finish_reason"] = choice.finish_reason

    def to_facts(self) -> dict[str, Any]:
        return {
            **self.facts,
            "text": "".join(self.text),
            "events": len(self.types),
            "event_types": sorted(set(self.types)),
            "partial_images": sum(1 for t in self.types if t.endswith("partial_image")),
            "completed": any(t.endswith(".completed") for t in self.types),
            "out_of_order": self.out_of_order,
            "ttft_ms": self.ttft_ms,
            "token_spread_ms": self.token_spread_ms,
        }


def _input_png() -> tuple[str, bytes, str]:
    return ("input.png", base64.b64decode(render_b64(0, "repro-input", "1024x1024")), "image/png")


async def _call(
    client: openai.AsyncOpenAI, endpoint: str, stream: bool, model: str, inp: dict[str, Any], obs: Observation
) -> None:
    message = inp.get("message", "Tell me a short story.")
    partials = int(inp.get("partial_images", 2))
    if endpoint == E.MODELS:
        page = await client.models.list()
        obs.facts["models"] = len(page.data)
    elif endpoint == E.CHAT_COMPLETIONS:
        messages = [{"role": "user", "content": message}]
        if stream:
            async for chunk in await client.chat.completions.create(
                model=model, messages=messages, stream=True
            ):
                obs.add_event(chunk)
        else:
            completion = await client.chat.completions.create(model=model, messages=messages)
            obs.text.append(completion.choices[0].message.content or "")
            obs.facts["finish_reason"] = completion.choices[0].finish_reason
    elif endpoint == E.RESPONSES:
        params: dict[str, Any] = {"model": model, "input": message}
        if "partial_images" in inp:
            params["tools"] = [{"type": "image_generation", "partial_images": partials}]
        if stream and inp.get("helper"):
            async with client.responses.stream(**params) as events:
                async for event in events:
                    obs.add_event(event)
                obs.facts["response_status"] = (await events.get_final_response()).status
        elif stream:
            async for event in await client.responses.create(stream=True, **params):
                obs.add_event(event)
        else:
            response = await client.responses.create(**params)
            obs.text.append(response.output_text)
            obs.facts["response_status"] = response.status
    elif endpoint in (E.IMAGES_GENERATIONS, E.IMAGES_EDITS):
        params = {"model": model, "prompt": message}
        call = client.images.generate
        if endpoint == E.IMAGES_EDITS:
            params["image"], call = _input_png(), client.images.edit
        if stream:
            async for event in await call(stream=True, partial_images=partials, **params):
                obs.add_event(event)
        else:
            result = await call(**params)
            obs.facts["images"] = len(result.data or [])


def tap_facts(tap: TapTransport) -> dict[str, Any]:
    last = tap.responses[-1] if tap.responses else None
    return {
        "comments": sum(r.comments for r in tap.responses),
        "done": bool(last and last.done),
        "ratelimit": last.ratelimit() if last else {},
        "remaining_requests": [_int(r.ratelimit().get("remaining_requests")) for r in tap.responses],
        "remaining_tokens": [_int(r.ratelimit().get("remaining_tokens")) for r in tap.responses],
    }


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _endpoint(ctx: RunContext) -> str:
    inp, match = ctx.input, ctx.scenario.match
    endpoint = (
        inp.get("endpoint")
        or (match.get("endpoint") if isinstance(match.get("endpoint"), str) else None)
        or "chat.completions"
    )
    if endpoint not in ENDPOINTS:
        raise ScenarioFileError(
            f"{ctx.scenario.path}: stack.input.endpoint: the sdk driver calls one of "
            f"{', '.join(ENDPOINTS)}; got {endpoint!r}"
        )
    return endpoint


async def run(ctx: RunContext) -> StackRun:
    inp, match = ctx.input, ctx.scenario.match
    endpoint = _endpoint(ctx)
    stream = bool(inp.get("stream", match.get("stream", False)))
    model = inp.get("model") or DEFAULT_MODELS.get(endpoint, "gpt-4o-mini")
    max_retries = int(inp.get("max_retries", 2))
    calls, concurrency = int(inp.get("calls", 1)), int(inp.get("concurrency", 1))
    for key, value in (("calls", calls), ("concurrency", concurrency)):
        if value < 1:
            raise ScenarioFileError(
                f"{ctx.scenario.path}: stack.input.{key}: expected at least 1, got {value}"
            )
    timeout = ctx.real_s(inp["timeout_ms"]) if "timeout_ms" in inp else 30.0
    tap = TapTransport()
    client = openai.AsyncOpenAI(
        base_url=ctx.url(inp.get("base_url")),
        api_key="sk-repro",
        max_retries=max_retries,
        timeout=timeout,
        http_client=openai.DefaultAsyncHttpxClient(transport=tap),
    )
    slots = asyncio.Semaphore(concurrency)

    async def one() -> tuple[Observation, Exception | None]:
        async with slots:
            obs = Observation(ctx)
            try:
                await _call(client, endpoint, stream, model, inp, obs)
            except Exception as exc:  # whatever the SDK raised is the observation
                return obs, exc
            return obs, None

    try:
        results = await asyncio.gather(*(one() for _ in range(calls)))
    finally:
        await client.close()
    facts: dict[str, Any] = {"endpoint": endpoint, "stream": stream}
    lines = [
        f"openai SDK: {endpoint}{' (stream)' if stream else ''} model={model} max_retries={max_retries}"
        + (f", {calls} calls" if calls > 1 else "")
        + (f", {concurrency} at a time" if concurrency > 1 else "")
    ]
    outcomes = ["ok" if exc is None else type(exc).__name__ for _, exc in results]
    for n, (obs, exc) in enumerate(results, 1):
        if exc is None:
            if calls <= MAX_CALL_LINES:
                lines.append(f"call {n}: ok: {len(obs.types)} events, text {''.join(obs.text)[:60]!r}")
            continue
        if "exception" not in facts:
            facts.update(
                error=error_text(exc),
                exception=type(exc).__name__,
                status_code=getattr(exc, "status_code", None),
            )
        lines.append(f"call {n}: raised {error_text(exc)} after {len(obs.types)} events")
    facts.update(results[-1][0].to_facts())
    facts["outcome"] = "ok" if all(o == "ok" for o in outcomes) else "error"
    facts.update(tap_facts(tap))
    facts.update(retry_facts(journal_entries(ctx)))
    if concurrency > 1:  # neighbours in the journal belong to different calls: no wait to measure
        del facts["retry_waits_ms"], facts["min_retry_wait_ms"]
    if calls > 1:
        lines.append(f"{calls} calls: {outcomes.count('ok')} ok, {calls - outcomes.count('ok')} failed")
        facts.update(
            outcomes=outcomes,
            first_failed_call=next((n for n, o in enumerate(outcomes, 1) if o != "ok"), None),
            error_rate=round(sum(o != "ok" for o in outcomes) / calls, 4),
            retry_rate=round(facts["retries"] / calls, 4),
        )
    statuses = [str(r.status) for r in tap.responses]
    if len(statuses) > MAX_CALL_LINES:
        statuses = [f"{status} x{n}" for status, n in sorted(Counter(statuses).items())]
    lines.append(
        f"client received {len(tap.responses)} responses (statuses "
        f"{', '.join(statuses) or 'none'}), {facts['comments']} comment lines, "
        f"[DONE] {'yes' if facts['done'] else 'no'}; SDK retries {facts['retries']}"
        + (f", waited {facts['retry_waits_ms']} ms (real time)" if facts.get("retry_waits_ms") else "")
    )
    return StackRun({"sdk": facts}, lines)

"""``stack.drive: sdk``: one bare call through the official ``openai`` SDK, with its own retries.

``stack.input``: ``endpoint`` (default: the scenario's ``match.endpoint``, else chat.completions),
``stream`` (default: ``match.stream``), ``model``, ``message``, ``max_retries`` (default 2, the
SDK's), ``timeout_ms`` (scenario time). Facts under ``sdk``: outcome (ok|error), error (the
exception as a traceback's last line names it), exception, status_code, text, events, event_types.
"""

from __future__ import annotations

from typing import Any

import openai

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError
from . import error_text

DEFAULT_MODELS = {"images.generations": "gpt-image-1"}
ENDPOINTS = ("models", "chat.completions", "responses", "images.generations")


async def _call(
    client: openai.AsyncOpenAI, endpoint: str, stream: bool, model: str, message: str, facts: dict[str, Any]
) -> None:
    types: list[str] = []
    text: list[str] = []
    if endpoint == "models":
        page = await client.models.list()
        facts["models"] = len(page.data)
    elif endpoint == "chat.completions":
        messages = [{"role": "user", "content": message}]
        if stream:
            async for chunk in await client.chat.completions.create(
                model=model, messages=messages, stream=True
            ):
                types.append(chunk.object)
                for choice in chunk.choices:
                    text.append(choice.delta.content or "")
                    if choice.finish_reason:
                        facts["finish_reason"] = choice.finish_reason
        else:
            completion = await client.chat.completions.create(model=model, messages=messages)
            text.append(completion.choices[0].message.content or "")
            facts["finish_reason"] = completion.choices[0].finish_reason
    elif endpoint == "responses":
        if stream:
            async for event in await client.responses.create(model=model, input=message, stream=True):
                types.append(event.type)
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
        else:
            response = await client.responses.create(model=model, input=message)
            text.append(response.output_text)
            facts["response_status"] = response.status
    elif endpoint == "images.generations":
        if stream:
            async for event in await client.images.generate(
                model=model, prompt=message, stream=True, partial_images=2
            ):
                types.append(event.type)
        else:
            result = await client.images.generate(model=model, prompt=message)
            facts["images"] = len(result.data or [])
    facts["text"] = "".join(text)
    facts["events"] = len(types)
    facts["event_types"] = sorted(set(types))


async def run(ctx: RunContext) -> StackRun:
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
    stream = bool(inp.get("stream", match.get("stream", False)))
    model = inp.get("model") or DEFAULT_MODELS.get(endpoint, "gpt-4o-mini")
    max_retries = int(inp.get("max_retries", 2))
    timeout = ctx.real_s(inp["timeout_ms"]) if "timeout_ms" in inp else 30.0
    client = openai.AsyncOpenAI(
        base_url=ctx.url(inp.get("base_url")), api_key="sk-repro", max_retries=max_retries, timeout=timeout
    )
    facts: dict[str, Any] = {"endpoint": endpoint, "stream": stream}
    lines = [f"openai SDK: {endpoint}{' (stream)' if stream else ''} model={model} max_retries={max_retries}"]
    try:
        await _call(client, endpoint, stream, model, inp.get("message", "Tell me a short story."), facts)
        facts["outcome"] = "ok"
        lines.append(f"ok: {facts['events']} events, text {facts['text'][:60]!r}")
    except Exception as exc:  # whatever the SDK raised is the observation
        facts.update(
            outcome="error",
            error=error_text(exc),
            exception=type(exc).__name__,
            status_code=getattr(exc, "status_code", None),
        )
        lines.append(f"raised {facts['error']}")
    finally:
        await client.close()
    return StackRun({"sdk": facts}, lines)

"""LiteLLM against the mock, as its users call it; run with the Python of LiteLLM's own venv.

The mock's base URL and a session prefix come in the environment (MOCK_BASE_URL, MOCK_SESSION);
each path uses its own X-Mock-Session (prefix-path) so the test reads what that path sent from
the journal. Prints one JSON object: a result per path, or {"error": ...} for a path that raised
where it should not have.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import sys
import traceback

import litellm

BASE = os.environ["MOCK_BASE_URL"]
SESSION = os.environ["MOCK_SESSION"]
MODEL = "openai/gpt-4o-mini"
HELLO = [{"role": "user", "content": "Say hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def where(path: str, scenario: str | None = None) -> dict:
    headers = {"X-Mock-Session": f"{SESSION}-{path}"}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    return {"api_base": BASE, "api_key": "sk-litellm", "extra_headers": headers, "num_retries": 0}


def completion() -> dict:
    r = litellm.completion(model=MODEL, messages=HELLO, **where("completion"))
    choice = r.choices[0]
    return {
        "text": choice.message.content,
        "finish": choice.finish_reason,
        "model": r.model,
        "usage": r.usage.model_dump(),
    }


def completion_stream() -> dict:
    stream = litellm.completion(
        model=MODEL,
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
        **where("completion_stream"),
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if getattr(chunk, "usage", None):
            usage = chunk.usage.model_dump()
    return {"pieces": [p for p in pieces if p], "finish": finish, "usage": usage}


async def acompletion() -> dict:
    r = await litellm.acompletion(model=MODEL, messages=HELLO, **where("acompletion"))
    stream = await litellm.acompletion(model=MODEL, messages=HELLO, stream=True, **where("acompletion"))
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return {"text": r.choices[0].message.content, "streamed": "".join(pieces)}


def forced_tool() -> dict:
    r = litellm.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather, please"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        **where("forced_tool"),
    )
    call = r.choices[0].message.tool_calls[0]
    return {
        "name": call.function.name,
        "id": call.id,
        "arguments": json.loads(call.function.arguments),
        "finish": r.choices[0].finish_reason,
    }


def auto_tool() -> dict:
    r = litellm.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "What's the weather in Rome?"}],
        tools=[WEATHER],
        **where("auto_tool"),
    )
    calls = r.choices[0].message.tool_calls or []
    return {"names": [c.function.name for c in calls], "finish": r.choices[0].finish_reason}


def responses() -> dict:
    r = litellm.responses(model=MODEL, input="Say hello", **where("responses"))
    text = "".join(
        part.text
        for item in r.output
        if getattr(item, "type", None) == "message"
        for part in item.content
        if getattr(part, "type", None) == "output_text"
    )
    stream = litellm.responses(model=MODEL, input="Say hello", stream=True, **where("responses_stream"))
    types, deltas = [], []
    for event in stream:
        kind = getattr(event, "type", None)
        kind = getattr(kind, "value", kind)
        types.append(kind)
        if kind == "response.output_text.delta":
            deltas.append(event.delta)
    return {"id": r.id, "status": r.status, "text": text, "types": types, "streamed": "".join(deltas)}


def rate_limited() -> dict:
    try:
        litellm.completion(model=MODEL, messages=HELLO, **where("rate_limited", "chat-429-should-not-retry"))
    except Exception as exc:  # noqa: BLE001 - the class LiteLLM raises is what is checked
        return {"class": type(exc).__name__, "status": getattr(exc, "status_code", None), "message": str(exc)}
    return {"class": None}


def stream_error() -> dict:
    pieces = []
    try:
        stream = litellm.completion(
            model=MODEL, messages=HELLO, stream=True, **where("stream_error", "chat-stream-error-event")
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    except Exception as exc:  # noqa: BLE001 - the class LiteLLM raises is what is checked
        return {"class": type(exc).__name__, "message": str(exc), "pieces": len(pieces)}
    return {"class": None, "pieces": len(pieces)}


def main() -> None:
    out: dict = {"version": importlib.metadata.version("litellm")}
    for name, fn in [
        ("completion", completion),
        ("completion_stream", completion_stream),
        ("acompletion", lambda: asyncio.run(acompletion())),
        ("forced_tool", forced_tool),
        ("auto_tool", auto_tool),
        ("responses", responses),
        ("rate_limited", rate_limited),
        ("stream_error", stream_error),
    ]:
        try:
            out[name] = fn()
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            out[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}
    sys.stdout.write(json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()

"""``POST /v1/chat/completions``: non-streaming and streaming, tool calls, length limits.

Wire shape (checked against openai-python): ``data: <chunk>`` frames with no ``event:`` line,
ending ``data: [DONE]``. The first delta is ``{"role":"assistant","content":"","refusal":null}``;
the last content chunk carries ``delta: {}`` and the finish_reason; with
``stream_options.include_usage`` one more chunk with ``choices: []`` and ``usage`` comes before
``[DONE]``, and every other chunk says ``usage: null``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)

from .. import errors
from ..app_keys import CLOCK, CTX
from ..content import count_tokens, generate_text, new_id, rng_for, text_of, tokenize
from ..endpoints import CHAT_COMPLETIONS
from ..reply import Reply, StreamEvent, Vocabulary
from ..scenario.specs import ResponseSpec
from ..web_handling import check_model, plan, read_json, send
from . import params, request_types
from .pace import PACE_HEADER, chat_pace
from .schema_fill import instance_for
from .tool_pick import auto_pick

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
FINGERPRINT = "fp_mock0001"
REQUIRED_WITHOUT_TOOLS = (
    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
)


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    n: int
    tools: list[dict[str, Any]]
    tool_choice: Any
    response_format: dict[str, Any] | None


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """Validate like the real endpoint; every failure names the offending ``param``."""
    model = params.required(body, "model", str)
    messages = params.required(body, "messages", list)
    if not messages:
        raise errors.ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise errors.invalid_type(where, "an object", msg)
        role = msg.get("role")
        if role is None:
            raise errors.missing_param(f"{where}.role")
        if role not in ROLES:
            raise errors.invalid_value(
                f"{where}.role",
                f"Invalid value: '{role}'. Supported values "
                "are: 'system', 'assistant', 'user', 'function', 'tool', "
                "and 'developer'.",
            )
        if role in ("system", "user", "developer", "tool") and msg.get("content") is None:
            raise errors.missing_param(f"{where}.content")
        if role == "tool" and not msg.get("tool_call_id"):
            raise errors.missing_param(f"{where}.tool_call_id")
        content = msg.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise errors.invalid_type(f"{where}.content", "one of a string or array of objects", content)
    stream = params.optional(body, "stream", bool, False)
    stream_options = params.optional(body, "stream_options", dict)
    if stream_options is not None and not stream:
        raise errors.ApiError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    params.number_in(body, "temperature", 0, 2)
    params.number_in(body, "top_p", 0, 1)
    params.number_in(body, "presence_penalty", -2, 2)
    params.number_in(body, "frequency_penalty", -2, 2)
    n = params.number_in(body, "n", 1, 128, default=1, integer=True)
    max_tokens = None
    for name in ("max_completion_tokens", "max_tokens"):
        value = params.optional(body, name, int)
        if value is not None:
            if value < 1:
                raise errors.invalid_value(
                    name,
                    f"Invalid '{name}': integer below minimum value. "
                    f"Expected a value >= 1, but got {value} instead.",
                )
            max_tokens = value if max_tokens is None else min(max_tokens, value)
    tools = params.optional(body, "tools", list, [])
    names = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise errors.invalid_type(f"tools[{i}]", "an object", tool)
        if tool.get("type") != "function":
            raise errors.invalid_value(
                f"tools[{i}].type",
                f"Invalid value: '{tool.get('type')}'. Supported values are: 'function' and 'custom'.",
            )
        fn = tool.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise errors.missing_param(
                f"tools[{i}].function.name" if isinstance(fn, dict) else f"tools[{i}].function"
            )
        names.append(fn["name"])
    tool_choice = body.get("tool_choice")
    if (
        tool_choice is not None
        and params.tool_choice_mode(tool_choice, bool(tools), REQUIRED_WITHOUT_TOOLS) is None
    ):
        if tool_choice.get("type") == "allowed_tools":
            _, listed = params.allowed_tools(tool_choice.get("allowed_tools"), "tool_choice.allowed_tools")
            wanted = [(t.get("function") or {}).get("name") for t in listed]
        else:
            wanted = [(tool_choice.get("function") or {}).get("name")]
        for name in wanted:
            if name not in names:
                raise errors.invalid_value(
                    "tool_choice", f"Invalid value for 'tool_choice': function '{name}' is not in 'tools'."
                )
    response_format = params.optional(body, "response_format", dict)
    if response_format is not None:
        rtype = response_format.get("type")
        if rtype not in ("text", "json_object", "json_schema"):
            raise errors.invalid_value(
                "response_format.type",
                f"Invalid value: '{rtype}'. Supported values are: 'json_object', 'json_schema' and 'text'.",
            )
        if rtype == "json_schema" and not isinstance(response_format.get("json_schema"), dict):
            raise errors.missing_param("response_format.json_schema")
    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool((stream_options or {}).get("include_usage")),
        max_tokens=max_tokens,
        n=n,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
    )


# --- pure builders ---------------------------------------------------------------------------


@dataclass(slots=True)
class Choice:
    index: int
    tokens: list[str]  # streamed pieces of the content, or of the tool call's arguments
    finish_reason: str
    tool_call: dict[str, Any] | None = None  # {"id", "name"} when the answer is a tool call


def chosen_tool(req: ChatRequest) -> dict[str, Any] | None:
    """The function the model calls: the one named, the first under "required"; under "auto"
    (or no ``tool_choice``) one the last user message mentions, when the conversation ends with
    that message (:mod:`.tool_pick`), else none: the model answers in text. ``allowed_tools``
    narrows the functions to those it lists, then its mode is "auto" or "required" as above."""
    choice = req.tool_choice
    if not req.tools or choice == "none":
        return None
    functions = [t["function"] for t in req.tools]
    mode = choice
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = {(t.get("function") or {}).get("name") for t in choice["allowed_tools"]["tools"]}
        functions = [f for f in functions if f["name"] in allowed]
        mode = choice["allowed_tools"]["mode"]
    elif isinstance(choice, dict):
        name = choice["function"]["name"]
        return next(f for f in functions if f["name"] == name)
    if mode == "required":
        return functions[0] if functions else None
    last = req.messages[-1]
    if last.get("role") != "user":
        return None  # after a tool's result (or an assistant turn) the model answers in text
    return auto_pick(functions, lambda f: f["name"], text_of(last.get("content")))


def tool_finish_reason(req: ChatRequest) -> str:
    """The real API ends a call forced by name with "stop" (streamed and not): the model did not
    choose to call, it was told to. A call under "required" or "auto" ends with "tool_calls"."""
    forced = isinstance(req.tool_choice, dict) and req.tool_choice.get("type") != "allowed_tools"
    return "stop" if forced else "tool_calls"


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return 3 + sum(3 + count_tokens(text_of(m.get("content"))) for m in messages)


def build_choices(req: ChatRequest, spec: ResponseSpec, seed: int) -> list[Choice]:
    last_user = next(
        (text_of(m.get("content")) for m in reversed(req.messages) if m.get("role") == "user"), ""
    )
    tool = chosen_tool(req)
    out = []
    for i in range(req.n):
        key = (req.model, last_user, i)
        if tool is not None:
            rng = rng_for(seed, "tool", key)
            args = json.dumps(instance_for(tool.get("parameters") or {"type": "object"}, rng))
            call = {"id": new_id("call_", seed, "call", key), "name": tool["name"]}
            out.append(Choice(i, _split(args, 8), tool_finish_reason(req), call))
            continue
        if req.response_format and req.response_format.get("type") == "json_schema":
            schema = req.response_format["json_schema"].get("schema") or {"type": "object"}
            text = json.dumps(instance_for(schema, rng_for(seed, "json", key)))
            pieces = _split(text, 6)
        elif req.response_format and req.response_format.get("type") == "json_object":
            pieces = _split(json.dumps({"answer": generate_text(seed, key, 6)}), 6)
        else:
            text = spec.text if spec.text is not None else generate_text(seed, key, spec.tokens)
            pieces = tokenize(text)
        finish = "stop"
        if req.max_tokens is not None and len(pieces) > req.max_tokens:
            pieces, finish = pieces[: req.max_tokens], "length"
        out.append(Choice(i, pieces, finish))
    return out


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def usage_of(req: ChatRequest, choices: list[Choice]) -> dict[str, Any]:
    p = prompt_tokens(req.messages)
    c = sum(len(ch.tokens) for ch in choices)
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion_body(req: ChatRequest, choices: list[Choice], cid: str, created: int) -> dict[str, Any]:
    out = []
    for ch in choices:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        if ch.tool_call:
            message["tool_calls"] = [
                {
                    "id": ch.tool_call["id"],
                    "type": "function",
                    "function": {"name": ch.tool_call["name"], "arguments": "".join(ch.tokens)},
                }
            ]
        else:
            message["content"] = "".join(ch.tokens)
        out.append(
            {"index": ch.index, "message": message, "logprobs": None, "finish_reason": ch.finish_reason}
        )
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": req.model,
        "choices": out,
        "usage": usage_of(req, choices),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def stream_events(
    req: ChatRequest, choices: list[Choice], spec: ResponseSpec, cid: str, created: int
) -> list[StreamEvent]:
    def chunk(choice_list: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        c = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": req.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": choice_list,
        }
        if req.include_usage:
            c["usage"] = usage
        return c

    def delta(ch: Choice, d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": ch.index, "delta": d, "logprobs": None, "finish_reason": finish}

    T = "chat.completion.chunk"
    events: list[StreamEvent] = []
    for ch in choices:
        first_delay = spec.ttft_ms if ch.index == 0 else 0.0
        if ch.tool_call:
            head = {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": ch.tool_call["id"],
                        "type": "function",
                        "function": {"name": ch.tool_call["name"], "arguments": ""},
                    }
                ],
            }
            events.append(StreamEvent(chunk([delta(ch, head)]), type=T, delay_ms=first_delay))
            for j, piece in enumerate(ch.tokens):
                d = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                events.append(
                    StreamEvent(
                        chunk([delta(ch, d)]),
                        type=T,
                        content=True,
                        delay_ms=0.0 if j == 0 else spec.inter_token_ms,
                    )
                )
        else:
            head = {"role": "assistant", "content": "", "refusal": None}
            events.append(StreamEvent(chunk([delta(ch, head)]), type=T, delay_ms=first_delay))
            for j, piece in enumerate(ch.tokens):
                events.append(
                    StreamEvent(
                        chunk([delta(ch, {"content": piece})]),
                        type=T,
                        content=True,
                        delay_ms=0.0 if j == 0 else spec.inter_token_ms,
                    )
                )
        events.append(StreamEvent(chunk([delta(ch, {}, ch.finish_reason)]), type=T))
    if req.include_usage:
        events.append(StreamEvent(chunk([], usage_of(req, choices)), type=T))
    events.append(StreamEvent("[DONE]", type="done", terminal=True))
    return events


# --- the handler -----------------------------------------------------------------------------


async def create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    req = parse_request(body)
    request_types.check(
        body,
        CompletionCreateParamsStreaming if req.stream else CompletionCreateParamsNonStreaming,
        own=frozenset({"messages"}),
    )
    check_model(request, req.model)
    step = plan(request, CHAT_COMPLETIONS, req.stream, req.model)
    ctx = request[CTX]
    spec = chat_pace(step.response, step.attempt > 0, request.headers.get(PACE_HEADER))
    choices = build_choices(req, spec, ctx.seed)
    cid = "chatcmpl-" + new_id("", ctx.seed, ctx.request_id, length=29)
    created = int(request.app[CLOCK].wall())
    if req.stream:
        reply = Reply(
            events=stream_events(req, choices, spec, cid, created), model=req.model, vocabulary=VOCABULARY
        )
    else:
        delay = spec.ttft_ms + spec.inter_token_ms * max(0, sum(len(c.tokens) for c in choices) - 1)
        reply = Reply(
            body=completion_body(req, choices, cid, created),
            delay_ms=delay,
            model=req.model,
            vocabulary=VOCABULARY,
        )
    return await send(request, step, reply)


def _error_event(error: dict[str, Any], previous: list[StreamEvent]) -> StreamEvent:
    """Chat's in-band error: a bare ``data: {"error": ...}`` chunk (the SDK raises APIError)."""
    return StreamEvent({"error": error}, type="error", terminal=True)


# how Chat Completions speaks, for the faults (see mockserver.reply.Vocabulary)
VOCABULARY = Vocabulary(
    CHAT_COMPLETIONS,
    error_event=_error_event,
    malformed='{"id": "chatcmpl-mock", "choices": [{"delta": {"content": "unterminated',
)

ROUTES = [("POST", "/chat/completions", create)]

"""Pure builders for the Responses API: output items, the response object, the event stream.

Wire shape (checked against openai-python and OpenAI's published schema): ``event: <type>`` /
``data: <json with the same "type">`` frames, no ``[DONE]``; ``sequence_number`` from 0, +1 per
event; ``response.created`` → (``response.queued`` for background jobs) → ``response.in_progress``
→ per output item ``response.output_item.added`` … ``response.output_item.done`` →
``response.completed`` (or ``response.incomplete`` when ``max_output_tokens`` cut the answer).

Nothing here does I/O or reads a clock: timestamps and ids come in as arguments, timing goes out
as each :class:`StreamEvent`'s ``delay_ms``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .. import picture
from ..content import count_tokens, generate_text, new_id, rng_for, text_of, tokenize
from ..reply import StreamEvent
from ..scenario.specs import ResponseSpec
from .responses_request import ResponsesRequest
from .schema_fill import instance_for
from .tool_pick import auto_pick

LIFECYCLE = ("response.created", "response.queued", "response.in_progress")
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
IMAGE_TOOL_DEFAULTS = {
    "background": "auto",
    "model": "gpt-image-1",
    "moderation": "auto",
    "output_compression": 100,
    "output_format": "png",
    "partial_images": 0,
    "quality": "auto",
    "size": "auto",
}
RESOLVED_QUALITY = "medium"  # what "auto" quality comes out as


@dataclass(slots=True)
class ImagePlan:
    partials: list[str]  # base64 partial images, coarse to fine
    result: str  # base64 final image
    size: str
    quality: str
    background: str
    output_format: str


@dataclass(slots=True)
class Output:
    """One output item the mock produces, with the pieces it streams."""

    kind: str  # "message" | "function_call" | "image_generation_call"
    id: str
    pieces: list[str] = field(default_factory=list)  # text deltas, or argument deltas
    status: str = "completed"  # final status: "completed" or "incomplete" (cut by max_output_tokens)
    name: str | None = None  # function name
    call_id: str | None = None
    image: ImagePlan | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


# --- what the model answers ------------------------------------------------------------------


def content_key(req: ResponsesRequest) -> tuple[Any, ...]:
    """The request parts that pick the generated content (the same key chat completions uses)."""
    return (req.model, req.last_user_text(), 0)


def chosen_tool(req: ResponsesRequest) -> dict[str, Any] | None:
    """The tool the mock calls: a forced one; the first under "required"; under "auto" a
    function the last user message mentions when the input ends with that message
    (:mod:`.tool_pick`), else the image tool whenever it is offered. ``allowed_tools`` narrows
    the tools to those it lists, then its mode is "auto" or "required" as above."""
    choice = req.tool_choice
    if not req.tools or choice == "none":
        return None
    tools = req.tools
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        tools = [t for t in req.tools if any(_names(t, a) for a in choice["tools"])]
        choice = choice["mode"]
    elif isinstance(choice, dict):
        kind = choice.get("type")
        return next(
            (
                t
                for t in req.tools
                if t.get("type") == kind and (kind != "function" or t.get("name") == choice.get("name"))
            ),
            None,  # e.g. mcp: the mock answers in text
        )
    if choice == "required":
        return tools[0] if tools else None
    if req.ends_with_user():
        functions = [t for t in tools if t.get("type") == "function"]
        called = auto_pick(functions, lambda t: t["name"], req.last_user_text())
        if called is not None:
            return called
    return next((t for t in tools if t.get("type") == "image_generation"), None)


def _names(tool: dict[str, Any], allowed: dict[str, Any]) -> bool:
    """Whether an ``allowed_tools`` entry (``{"type": "function", "name": ...}``, or a type) is ``tool``."""
    if tool.get("type") != allowed.get("type"):
        return False
    return tool.get("type") != "function" or tool.get("name") == allowed.get("name")


def plan_outputs(req: ResponsesRequest, spec: ResponseSpec, seed: int, rid: str) -> list[Output]:
    key = content_key(req)
    tool = chosen_tool(req)
    item_id = new_id("", seed, rid, "item", length=48)
    if tool is not None and tool.get("type") == "function":
        rng = rng_for(seed, "tool", key)
        args = json.dumps(instance_for(tool.get("parameters") or {"type": "object"}, rng))
        out = Output(
            "function_call",
            "fc_" + item_id,
            tokenize(args),
            name=tool["name"],
            call_id=new_id("call_", seed, "call", key),
        )
    elif tool is not None and tool.get("type") == "image_generation":
        return [Output("image_generation_call", "ig_" + item_id, image=plan_image(tool, seed, key))]
    else:
        out = Output("message", "msg_" + item_id, tokenize(answer_text(req, spec, seed, key)))
    limit = req.max_output_tokens
    if limit is not None and len(out.pieces) > limit:
        out.pieces, out.status = out.pieces[:limit], "incomplete"
    return [out]


def answer_text(req: ResponsesRequest, spec: ResponseSpec, seed: int, key: tuple[Any, ...]) -> str:
    fmt = req.text_format
    if fmt.get("type") == "json_schema":
        return json.dumps(instance_for(fmt.get("schema") or {"type": "object"}, rng_for(seed, "json", key)))
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": generate_text(seed, key, 6)})
    return spec.text if spec.text is not None else generate_text(seed, key, spec.tokens)


def plan_image(tool: dict[str, Any], seed: int, key: tuple[Any, ...]) -> ImagePlan:
    cfg = {**IMAGE_TOOL_DEFAULTS, **tool}
    size = picture.AUTO_SIZE if cfg["size"] == "auto" else cfg["size"]
    background = "opaque" if cfg["background"] == "auto" else cfg["background"]
    quality = RESOLVED_QUALITY if cfg["quality"] == "auto" else cfg["quality"]
    n = int(cfg["partial_images"])
    image_key = repr(key)
    fmt = cfg["output_format"]
    partials = [
        picture.render_b64(seed, image_key, size, (i + 1) / (n + 1), fmt, background) for i in range(n)
    ]
    final = picture.render_b64(seed, image_key, size, 1.0, fmt, background)
    return ImagePlan(partials, final, size, quality, background, picture.encoded_format(fmt))


# --- objects ---------------------------------------------------------------------------------


def input_tokens(req: ResponsesRequest) -> int:
    total = count_tokens(req.instructions or "")
    if isinstance(req.input, str):
        return total + 3 + count_tokens(req.input)
    for item in req.input:
        text = text_of(item.get("content")) or str(item.get("output") or item.get("arguments") or "")
        total += 3 + count_tokens(text)
    return total


def usage_of(req: ResponsesRequest, outputs: list[Output]) -> dict[str, Any]:
    i = input_tokens(req)
    o = sum(len(out.pieces) for out in outputs)
    return {
        "input_tokens": i,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": o,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": i + o,
    }


def echoed_tools(req: ResponsesRequest) -> list[dict[str, Any]]:
    out = []
    for tool in req.tools:
        if tool.get("type") == "function":
            out.append({"description": None, "parameters": None, "strict": True, **tool})
        elif tool.get("type") == "image_generation":
            out.append({**IMAGE_TOOL_DEFAULTS, **tool})
        else:
            out.append(dict(tool))
    return out


def response_object(
    req: ResponsesRequest,
    rid: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    echo = req.echo
    body = {
        "id": rid,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": req.background,
        "completed_at": completed_at,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": echo.get("max_tool_calls"),
        "model": req.model,
        "output": output or [],
        "parallel_tool_calls": req.parallel_tool_calls,
        "previous_response_id": req.previous_response_id,
        "prompt_cache_key": echo.get("prompt_cache_key"),
        "reasoning": echo.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": echo.get("safety_identifier"),
        "service_tier": "default" if echo.get("service_tier") in (None, "auto") else echo["service_tier"],
        "store": req.store,
        "temperature": req.temperature,
        "text": {"verbosity": "medium", **req.text},
        "tool_choice": req.tool_choice,
        "tools": echoed_tools(req),
        "top_logprobs": echo.get("top_logprobs", 0),
        "top_p": req.top_p,
        "truncation": echo.get("truncation", "disabled"),
        "metadata": req.metadata,
    }
    # Not nullable in the published schema: present only when there is something to say.
    if usage is not None:
        body["usage"] = usage
    if echo.get("user") is not None:
        body["user"] = echo["user"]
    return body


def final_status(outputs: list[Output]) -> str:
    return "incomplete" if any(out.status == "incomplete" for out in outputs) else "completed"


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def item_added(out: Output) -> dict[str, Any]:
    if out.kind == "message":
        return {"id": out.id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    if out.kind == "function_call":
        return {
            "id": out.id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": out.call_id,
            "name": out.name,
        }
    return {"id": out.id, "type": "image_generation_call", "status": "in_progress", "result": None}


def item_done(out: Output) -> dict[str, Any]:
    item = item_added(out)
    item["status"] = out.status
    if out.kind == "message":
        item["content"] = [text_part(out.text)]
    elif out.kind == "function_call":
        item["arguments"] = out.text
    else:
        img = out.image
        assert img is not None
        item.update(
            result=img.result,
            size=img.size,
            quality=img.quality,
            background=img.background,
            output_format=img.output_format,
        )
    return item


# --- the event stream ------------------------------------------------------------------------


def build_events(
    req: ResponsesRequest,
    rid: str,
    created_at: int,
    outputs: list[Output],
    spec: ResponseSpec,
    time_scale: float = 1.0,
    queue_ms: float | None = None,
) -> list[StreamEvent]:
    """Every event of one response, numbered from 0, with the scenario's timing.

    ``completed_at`` is ``created_at`` plus the timeline's length under ``time_scale``.

    A background job spends ``queue_ms`` of the time to first token queued (default: the first
    half); any other response goes in_progress at once and waits the whole TTFT before its
    first content.
    """
    first_status = "queued" if req.background else "in_progress"
    if not req.background:
        queue_ms = 0.0
    elif queue_ms is None:
        queue_ms = spec.ttft_ms / 2
    queue_ms = min(queue_ms, spec.ttft_ms)
    events = [_event("response.created", {"response": response_object(req, rid, created_at, first_status)})]
    if req.background:
        events.append(
            _event("response.queued", {"response": response_object(req, rid, created_at, "queued")})
        )
    events.append(
        _event(
            "response.in_progress",
            {"response": response_object(req, rid, created_at, "in_progress")},
            delay_ms=queue_ms,
        )
    )
    first_delay = spec.ttft_ms - queue_ms
    for index, out in enumerate(outputs):
        events.extend(item_events(out, index, first_delay if index == 0 else 0.0, spec.inter_token_ms))
    status = final_status(outputs)
    completed_at = created_at + round(sum(ev.delay_ms for ev in events) * time_scale / 1000.0)
    final = response_object(
        req,
        rid,
        created_at,
        status,
        [item_done(o) for o in outputs],
        usage_of(req, outputs),
        completed_at if status == "completed" else None,
    )
    events.append(_event(f"response.{status}", {"response": final}, terminal=True))
    for seq, ev in enumerate(events):
        ev.data["sequence_number"] = seq
    return events


def item_events(out: Output, index: int, first_delay: float, gap: float) -> list[StreamEvent]:
    ref = {"item_id": out.id, "output_index": index}
    events = [_event("response.output_item.added", {"output_index": index, "item": item_added(out)})]
    if out.kind == "message":
        part = {**ref, "content_index": 0}
        events.append(_event("response.content_part.added", {**part, "part": text_part("")}))
        body = [
            _event("response.output_text.delta", {**part, "delta": piece, "logprobs": []}, content=True)
            for piece in out.pieces
        ]
        body.append(_event("response.output_text.done", {**part, "text": out.text, "logprobs": []}))
        body.append(_event("response.content_part.done", {**part, "part": text_part(out.text)}))
    elif out.kind == "function_call":
        body = [
            _event("response.function_call_arguments.delta", {**ref, "delta": piece}, content=True)
            for piece in out.pieces
        ]
        body.append(
            _event("response.function_call_arguments.done", {**ref, "name": out.name, "arguments": out.text})
        )
    else:
        img = out.image
        assert img is not None
        events.append(_event("response.image_generation_call.in_progress", dict(ref)))
        events.append(_event("response.image_generation_call.generating", dict(ref)))
        shown = {
            "size": img.size,
            "quality": img.quality,
            "background": img.background,
            "output_format": img.output_format,
        }
        body = [
            _event(
                "response.image_generation_call.partial_image",
                {**ref, "partial_image_index": i, "partial_image_b64": b64, **shown},
                content=True,
            )
            for i, b64 in enumerate(img.partials)
        ]
        body.append(_event("response.image_generation_call.completed", dict(ref)))
    done = _event("response.output_item.done", {"output_index": index, "item": item_done(out)})
    body.append(done)
    _pace(body, first_delay, gap)
    return events + body


def _pace(body: list[StreamEvent], first_delay: float, gap: float) -> None:
    """TTFT before the first content event and ``gap`` between content events; an image's
    final result comes ``gap`` after its last partial image (or after the TTFT when it has none,
    and is then the first content). The other closing events of an item follow at once."""
    content = [ev for ev in body if ev.content]
    completed = next((ev for ev in body if ev.type == "response.image_generation_call.completed"), None)
    if completed is not None:
        completed.delay_ms = gap if content else first_delay
        if not content:
            body[-1].content = True  # output_item.done carries the image
    elif not content:
        body[0].delay_ms = first_delay
    for i, ev in enumerate(content):
        ev.delay_ms = first_delay if i == 0 else gap


def _event(
    kind: str, payload: dict[str, Any], delay_ms: float = 0.0, content: bool = False, terminal: bool = False
) -> StreamEvent:
    return StreamEvent(
        {"type": kind, **payload},
        event=kind,
        type=kind,
        delay_ms=delay_ms,
        content=content,
        terminal=terminal,
    )


# --- state of a response part-way through its events -----------------------------------------


def snapshot(events: list[StreamEvent], emitted: int, cancelled: bool = False) -> dict[str, Any]:
    """The response object as ``GET /v1/responses/{id}`` shows it after ``emitted`` events."""
    shown = events[:emitted]
    if shown and shown[-1].type in TERMINAL and not cancelled:
        return copy.deepcopy(shown[-1].data["response"])
    base = next(ev for ev in reversed(shown or events[:1]) if ev.type in LIFECYCLE)
    response = copy.deepcopy(base.data["response"])
    items: dict[int, dict[str, Any]] = {}
    for ev in shown:
        data = ev.data
        if ev.type in ("response.output_item.added", "response.output_item.done"):
            items[data["output_index"]] = copy.deepcopy(data["item"])
        elif ev.type == "response.content_part.added":
            items[data["output_index"]]["content"].append(copy.deepcopy(data["part"]))
        elif ev.type == "response.output_text.delta":
            items[data["output_index"]]["content"][data["content_index"]]["text"] += data["delta"]
        elif ev.type == "response.function_call_arguments.delta":
            items[data["output_index"]]["arguments"] += data["delta"]
        elif ev.type == "response.image_generation_call.generating":
            items[data["output_index"]]["status"] = "generating"
    response["output"] = [items[i] for i in sorted(items)]
    if cancelled:
        response["status"] = "cancelled"
        for item in response["output"]:
            if item["status"] == "in_progress" and item["type"] in ("message", "function_call"):
                item["status"] = "incomplete"  # cut short by the cancel
    return response

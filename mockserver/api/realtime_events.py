"""Pure builders for Realtime API server events (GA names, as the SDK's types spell them).

Every server event has ``type`` and ``event_id``. A response is an ordered list of
:class:`~mockserver.reply.StreamEvent` (one WebSocket message each) with its timing, so the
fault engine transforms it like any SSE stream.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..content import new_id, tokenize
from ..reply import StreamEvent
from ..scenario.specs import ResponseSpec
from . import realtime_audio as audio
from .realtime_vad import VAD_DEFAULTS

AUDIO_FORMAT = {"type": "audio/pcm", "rate": audio.SAMPLE_RATE}
DEFAULT_VOICE = "marin"
DEFAULT_INSTRUCTIONS = "You are a helpful, witty, and friendly AI. Talk quickly."
SESSION_TTL_S = 3600


class EventIds:
    """Deterministic ids for one connection: ``event_…``, ``item_…``, ``resp_…``."""

    def __init__(self, seed: int, connection: str) -> None:
        self.seed, self.connection, self.n = seed, connection, 0

    def next(self, prefix: str = "event_") -> str:
        self.n += 1
        return new_id(prefix, self.seed, self.connection, self.n, length=21)


def event(ids: EventIds, type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": ids.next(), **fields}


def error_event(ids: EventIds, err: errors.ApiError, client_event_id: str | None = None) -> dict[str, Any]:
    """The realtime ``error`` event for a problem that does not close the connection."""
    return event(ids, "error", error={**err.body["error"], "event_id": client_event_id})


# --- the session -----------------------------------------------------------------------------


def default_session(session_id: str, model: str, expires_at: int) -> dict[str, Any]:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": dict(AUDIO_FORMAT),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(VAD_DEFAULTS["server_vad"]),
            },
            "output": {"format": dict(AUDIO_FORMAT), "voice": DEFAULT_VOICE, "speed": 1},
        },
        "include": None,
    }


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, nested objects merged key by key."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# --- conversation items ----------------------------------------------------------------------


def input_audio_item(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def completed_item(item: dict[str, Any], item_id: str) -> dict[str, Any]:
    """A client's item as the server echoes it: with an id, ``object`` and ``status``."""
    return {"id": item_id, "object": "realtime.item", **item, "status": "completed"}


def assistant_item(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": status,
        "role": "assistant",
        "content": content,
    }


# --- a response ------------------------------------------------------------------------------


@dataclass(slots=True)
class ResponsePlan:
    """What one ``response.create`` produces, decided before any event is built."""

    response_id: str
    item_id: str
    conversation_id: str | None  # None: out of band (``conversation: "none"``)
    previous_item_id: str | None
    modalities: list[str]  # ["audio"] or ["text"]
    voice: str
    text: str
    input_text_tokens: int
    input_audio_tokens: int
    pcm: list[bytes] = field(default_factory=list)  # per token, when audio
    call: FunctionCall | None = None  # the answer is a function call (``text``: its arguments)
    metadata: dict[str, str] | None = None

    @property
    def in_conversation(self) -> bool:
        """Its items join the conversation (``conversation.item.*`` events), unless out of band."""
        return self.conversation_id is not None

    @property
    def is_audio(self) -> bool:
        return "audio" in self.modalities and self.call is None

    @property
    def audio_ms(self) -> float:
        return sum(audio.ms_of(p) for p in self.pcm)


@dataclass(slots=True, frozen=True)
class FunctionCall:
    name: str
    call_id: str


def plan_response(
    ids: EventIds,
    spec: ResponseSpec,
    text: str,
    modalities: list[str],
    voice: str,
    conversation_id: str | None,
    previous_item_id: str | None,
    input_tokens: tuple[int, int],
    seed: int,
    call: FunctionCall | None = None,
    metadata: dict[str, str] | None = None,
) -> ResponsePlan:
    plan = ResponsePlan(
        response_id=ids.next("resp_"),
        item_id=ids.next("item_"),
        conversation_id=conversation_id,
        previous_item_id=previous_item_id,
        modalities=modalities,
        voice=voice,
        text=text,
        input_text_tokens=input_tokens[0],
        input_audio_tokens=input_tokens[1],
        call=call,
        metadata=metadata,
    )
    if plan.is_audio:
        plan.pcm = audio.speech(seed, text, len(tokenize(text)))
    return plan


def usage(plan: ResponsePlan) -> dict[str, Any]:
    text_tokens = len(tokenize(plan.text))
    audio_tokens = audio.audio_tokens(sum(audio.ms_of(p) for p in plan.pcm))
    out_tokens = text_tokens + audio_tokens
    in_tokens = plan.input_text_tokens + plan.input_audio_tokens
    return {
        "total_tokens": in_tokens + out_tokens,
        "input_tokens": in_tokens,
        "output_tokens": out_tokens,
        "input_token_details": {
            "text_tokens": plan.input_text_tokens,
            "audio_tokens": plan.input_audio_tokens,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
    }


def response_object(
    plan: ResponsePlan, status: str, output: list[dict[str, Any]], done: bool
) -> dict[str, Any]:
    return {
        "object": "realtime.response",
        "id": plan.response_id,
        "status": status,
        "status_details": None,
        "output": output,
        "conversation_id": plan.conversation_id,
        "output_modalities": list(plan.modalities),
        "max_output_tokens": "inf",
        "audio": {"output": {"format": dict(AUDIO_FORMAT), "voice": plan.voice}},
        "usage": usage(plan) if done else None,
        "metadata": plan.metadata,
    }


def function_call_item(item_id: str, status: str, call: FunctionCall, arguments: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "object": "realtime.item",
        "status": status,
        "name": call.name,
        "call_id": call.call_id,
        "arguments": arguments,
    }


def output_item(plan: ResponsePlan) -> dict[str, Any]:
    """The item a delivered response leaves in the conversation."""
    if plan.call is not None:
        return function_call_item(plan.item_id, "completed", plan.call, plan.text)
    content = {"type": "output_audio" if plan.is_audio else "output_text"}
    content["transcript" if plan.is_audio else "text"] = plan.text
    return assistant_item(plan.item_id, "completed", [content])


def _event(ids: EventIds, type_: str, **fields: Any) -> StreamEvent:
    return StreamEvent(event(ids, type_, **fields), type=type_)


def _item_added(ids: EventIds, plan: ResponsePlan, item: dict[str, Any]) -> list[StreamEvent]:
    """What opens every response: created, then its output item added to the response and
    (unless out of band) to the conversation."""
    out = [
        _event(ids, "response.created", response=response_object(plan, "in_progress", [], done=False)),
        _event(ids, "response.output_item.added", response_id=plan.response_id, output_index=0, item=item),
    ]
    if plan.in_conversation:
        out.append(_event(ids, "conversation.item.added", previous_item_id=plan.previous_item_id, item=item))
    return out


def _paced(deltas: list[StreamEvent], spec: ResponseSpec) -> list[StreamEvent]:
    """Content events at the scenario's pace: ``ttft_ms`` before the first, ``inter_token_ms``
    between the others."""
    for i, d in enumerate(deltas):
        d.content = True
        d.delay_ms = spec.ttft_ms if i == 0 else spec.inter_token_ms
    return deltas


def _item_done(ids: EventIds, plan: ResponsePlan, item: dict[str, Any]) -> list[StreamEvent]:
    """What closes every response: its item done in the response and (unless out of band) the
    conversation, then response.done (terminal, with usage)."""
    done = _event(ids, "response.done", response=response_object(plan, "completed", [item], done=True))
    done.terminal = True
    out = [_event(ids, "response.output_item.done", response_id=plan.response_id, output_index=0, item=item)]
    if plan.in_conversation:
        out.append(_event(ids, "conversation.item.done", previous_item_id=plan.previous_item_id, item=item))
    return [*out, done]


def function_call_events(ids: EventIds, plan: ResponsePlan, spec: ResponseSpec) -> list[StreamEvent]:
    """created → output_item.added → conversation.item.added → function_call_arguments.delta
    (``ttft_ms`` before the first, ``inter_token_ms`` between the others) → .done →
    output_item.done → conversation.item.done → response.done."""
    call = plan.call
    assert call is not None
    where = {
        "response_id": plan.response_id,
        "item_id": plan.item_id,
        "output_index": 0,
        "call_id": call.call_id,
    }
    out = _item_added(ids, plan, function_call_item(plan.item_id, "in_progress", call, ""))
    deltas = [
        _event(ids, "response.function_call_arguments.delta", **where, delta=piece)
        for piece in tokenize(plan.text)
    ]
    out.extend(_paced(deltas, spec))
    out.append(
        _event(ids, "response.function_call_arguments.done", **where, name=call.name, arguments=plan.text)
    )
    out.extend(_item_done(ids, plan, output_item(plan)))
    return out


def response_events(ids: EventIds, plan: ResponsePlan, spec: ResponseSpec) -> list[StreamEvent]:
    """created → output_item.added → conversation.item.added → content_part.added → deltas
    (``ttft_ms`` before the first, ``inter_token_ms`` between the others) → the ``.done`` events
    → output_item.done → conversation.item.done → response.done (terminal, with usage)."""
    if plan.call is not None:
        return function_call_events(ids, plan, spec)
    where = {"response_id": plan.response_id, "item_id": plan.item_id, "output_index": 0, "content_index": 0}
    tokens = tokenize(plan.text)
    if plan.is_audio:
        part_type, delta_type = "audio", "response.output_audio_transcript.delta"
    else:
        part_type, delta_type = "text", "response.output_text.delta"
    text_key = "transcript" if plan.is_audio else "text"
    ev = functools.partial(_event, ids)
    out = _item_added(ids, plan, assistant_item(plan.item_id, "in_progress", []))
    out.append(ev("response.content_part.added", **where, part={"type": part_type, text_key: ""}))
    deltas: list[StreamEvent] = []
    for i, token in enumerate(tokens):
        deltas.append(ev(delta_type, **where, delta=token))
        if plan.is_audio:
            for piece in audio.chunks(plan.pcm[i]):
                deltas.append(ev("response.output_audio.delta", **where, delta=audio.b64(piece)))
    out.extend(_paced(deltas, spec))
    if plan.is_audio:
        out.append(ev("response.output_audio.done", **where))
        out.append(ev("response.output_audio_transcript.done", **where, transcript=plan.text))
    else:
        out.append(ev("response.output_text.done", **where, text=plan.text))
    out.append(ev("response.content_part.done", **where, part={"type": part_type, text_key: plan.text}))
    out.extend(_item_done(ids, plan, output_item(plan)))
    if not deltas:  # nothing to say: the first event still waits out the ttft
        out[0].delay_ms = spec.ttft_ms
    return out

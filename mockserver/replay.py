"""A recording is a Reply source: the Reply of a scenario's ``replay:`` response.

Its events are the recorded frames, each with its raw bytes (sent exactly as they came) and its
recorded delay, so delivery plays them byte for byte on the one clock and a step's faults apply
on top as they do to any other Reply (``drop`` after the 5th event, ``stall``, ``slow``...).
What the faults ask of an event (its type, whether it carries content, whether it ends the
stream) is read once from the frame itself: :func:`frame_event`.

Every frame counts as an event, comment frames (heartbeats) included: ``after_events: N`` counts
the frames the recording holds.
"""

from __future__ import annotations

import json
from typing import Any

from servekit.sse import SSEReader

from .reply import COMPLETE, Reply, StreamEvent
from .scenario.replay_spec import ReplayFrame, ReplaySpec

CONTENT_TYPES = ("text/event-stream",)
_SKIPPED = frozenset(("content-length", "transfer-encoding", "content-encoding", "connection"))


def _is_content(kind: str, data: Any) -> bool:
    """A frame that carries what a user waits for (a token, a partial image)."""
    if kind.endswith(".delta") or "partial_image" in kind:
        return True
    if isinstance(data, dict) and isinstance(data.get("choices"), list):
        for choice in data["choices"]:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
                return True
    return False


def _is_terminal(kind: str, text: str) -> bool:
    """The frame after which a complete stream has nothing more to say."""
    return (
        text == "[DONE]"
        or kind == "error"
        or kind in ("response.completed", "response.failed", "response.incomplete")
        or (kind.endswith(".completed") and not kind.startswith("response."))
    )


def frame_event(frame: ReplayFrame) -> StreamEvent:
    """The event a recorded frame is, with its raw bytes and its delay."""
    frames = SSEReader().feed(frame.raw if frame.raw.endswith(b"\n\n") else frame.raw + b"\n\n")
    data_frames = [f for f in frames if not f.is_comment]
    if not data_frames:  # a comment (heartbeat), or bytes cut short
        kind = "comment" if frames else "partial"
        return StreamEvent(data="", raw=frame.raw, type=kind, delay_ms=frame.delay_ms)
    first = data_frames[0]
    text = first.data
    data: Any = text
    try:
        data = json.loads(text)
    except ValueError:
        pass
    kind = ""
    if isinstance(data, dict):
        kind = str(data.get("type") or ("error" if "error" in data else data.get("object") or ""))
    if text == "[DONE]":
        kind = "done"
    kind = kind or first.event or "message"
    return StreamEvent(
        data=data,
        event=first.event,
        type=kind,
        delay_ms=frame.delay_ms,
        content=_is_content(kind, data),
        raw=frame.raw,
        terminal=_is_terminal(kind, text),
    )


def reply_of(spec: ReplaySpec, built: Reply) -> Reply:
    """The recorded answer as a Reply, with the model and the API's vocabulary of the Reply the
    endpoint built for this request (so an ``error_event`` on top speaks the endpoint's way)."""
    headers = {k: v for k, v in spec.headers.items() if k.lower() not in _SKIPPED}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    reply = Reply(
        status=spec.status,
        headers=headers,
        delay_ms=spec.delay_ms,
        ending=spec.ending or COMPLETE,
        model=built.model,
        vocabulary=built.vocabulary,
        faults=list(built.faults),
    )
    if spec.events is not None:
        reply.events = [frame_event(f) for f in spec.events]
    else:
        reply.body = spec.body if spec.body is not None else b""
        if content_type:
            reply.content_type = content_type.split(";")[0].strip()
        elif not isinstance(spec.body, (dict, list)):
            reply.content_type = "text/plain"
    return reply

"""One Realtime connection's state, and what each client event does to it (no I/O).

:meth:`RealtimeSession.handle` takes one client message (raw text) and returns an
:class:`Outcome`: the server events to send at once, and, for ``response.create``, the planned
response whose events the handler delivers through the fault engine. A malformed or invalid
client event gives the realtime ``error`` event; the connection stays open, as with the real API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..content import count_tokens, generate_text, text_of
from ..scenario.schema import ResponseSpec
from . import realtime_audio as audio
from . import realtime_events as E

MIN_COMMIT_MS = 100
MODALITIES = (["audio"], ["text"])
ITEM_TYPES = ("message", "function_call", "function_call_output")
ITEM_ROLES = ("user", "assistant", "system")
CLIENT_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
)


@dataclass(slots=True)
class Outcome:
    events: list[dict[str, Any]] = field(default_factory=list)  # sent at once, in order
    response: E.ResponsePlan | None = None  # response.create: deliver this response
    cancel: bool = False  # response.cancel of the active response


def _invalid(message: str, param: str | None = None, code: str = "invalid_value") -> errors.ApiError:
    return errors.ApiError(400, message, param=param, code=code)


def _field(event: dict[str, Any], name: str, typ: type, where: str) -> Any:
    value = event.get(name)
    if value is None:
        raise errors.missing_param(f"{where}{name}")
    if not isinstance(value, typ) or isinstance(value, bool):
        expected = {str: "a string", dict: "an object", list: "an array"}[typ]
        raise errors.invalid_type(f"{where}{name}", expected, value)
    return value


def dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]…``, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _modalities(value: Any, param: str) -> list[str]:
    if value not in MODALITIES:
        raise _invalid(
            f"Invalid value for '{param}': expected ['audio'] or ['text'], got {json.dumps(value)}.", param
        )
    return list(value)


class RealtimeSession:
    def __init__(self, seed: int, connection: str, model: str, created_at: float) -> None:
        self.seed, self.model = seed, model
        self.ids = E.EventIds(seed, connection)
        self.session = E.default_session(self.ids.next("sess_"), model, int(created_at) + E.SESSION_TTL_S)
        self.conversation_id = self.ids.next("conv_")
        self.buffer = bytearray()
        self.items: list[dict[str, Any]] = []  # the conversation, oldest first
        self.audio_ms: dict[str, float] = {}  # item id -> input audio length
        self.active: E.ResponsePlan | None = None  # a response being delivered
        self.responses = 0

    # --- events the server sends on its own --------------------------------------------------

    def created(self) -> dict[str, Any]:
        return E.event(self.ids, "session.created", session=self.session)

    def error(self, err: errors.ApiError, client_event_id: str | None = None) -> dict[str, Any]:
        return E.error_event(self.ids, err, client_event_id)

    # --- client events -----------------------------------------------------------------------

    def handle(self, raw: str | bytes, spec: ResponseSpec) -> Outcome:
        try:
            event = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return Outcome(
                [self.error(_invalid("Invalid JSON: the event is not valid JSON.", code="invalid_json"))]
            )
        if not isinstance(event, dict):
            return Outcome(
                [self.error(_invalid("Invalid event: expected a JSON object.", code="invalid_event"))]
            )
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        try:
            return self._dispatch(event, spec)
        except errors.ApiError as err:
            return Outcome([self.error(err, client_id)])

    def _dispatch(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        type_ = event.get("type")
        if type_ is None:
            raise _invalid("The 'type' field is missing.", code="invalid_event")
        if type_ not in CLIENT_EVENTS:
            supported = ", ".join(f"'{t}'" for t in CLIENT_EVENTS)
            raise _invalid(f"Invalid value: '{type_}'. Supported values are: {supported}.", "type")
        handler = getattr(self, "_on_" + type_.replace(".", "_"), None)
        if handler is None:
            raise _invalid(f"The mock does not implement '{type_}'.", "type", code="unsupported_event")
        return handler(event, spec)

    def _on_session_update(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        update = _field(event, "session", dict, "")
        kind = _field(update, "type", str, "session.")
        if kind != "realtime":
            raise _invalid(f"Invalid value: '{kind}'. Supported values are: 'realtime'.", "session.type")
        if "output_modalities" in update:
            _modalities(update["output_modalities"], "session.output_modalities")
        if "audio" in update and not isinstance(update["audio"], dict):
            raise errors.invalid_type("session.audio", "an object", update["audio"])
        for key in ("id", "object", "expires_at"):  # the server's, not the client's
            update.pop(key, None)
        self.session = E.merge(self.session, update)
        return Outcome([E.event(self.ids, "session.updated", session=self.session)])

    def _on_input_audio_buffer_append(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        try:
            self.buffer += audio.decode_b64(_field(event, "audio", str, ""))
        except ValueError as exc:
            raise _invalid(str(exc), "audio") from None
        return Outcome()

    def _on_input_audio_buffer_commit(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        ms = audio.ms_of(bytes(self.buffer))
        if ms < MIN_COMMIT_MS:
            raise _invalid(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        self.buffer.clear()
        item_id = self.ids.next("item_")
        self.audio_ms[item_id] = ms
        previous = self._last_item_id()
        item = E.input_audio_item(item_id)
        self.items.append(item)
        return Outcome(
            [
                E.event(self.ids, "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
                E.event(self.ids, "conversation.item.added", previous_item_id=previous, item=item),
                E.event(self.ids, "conversation.item.done", previous_item_id=previous, item=item),
            ]
        )

    def _on_input_audio_buffer_clear(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        self.buffer.clear()
        return Outcome([E.event(self.ids, "input_audio_buffer.cleared")])

    def _on_conversation_item_create(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        item = _field(event, "item", dict, "")
        kind = _field(item, "type", str, "item.")
        if kind not in ITEM_TYPES:
            supported = ", ".join(f"'{t}'" for t in ITEM_TYPES)
            raise _invalid(f"Invalid value: '{kind}'. Supported values are: {supported}.", "item.type")
        if kind == "message":
            role = _field(item, "role", str, "item.")
            if role not in ITEM_ROLES:
                supported = ", ".join(f"'{r}'" for r in ITEM_ROLES)
                raise _invalid(f"Invalid value: '{role}'. Supported values are: {supported}.", "item.role")
            _field(item, "content", list, "item.")
        item_id = item.get("id") if isinstance(item.get("id"), str) else self.ids.next("item_")
        if any(i["id"] == item_id for i in self.items):
            raise _invalid(f"Item with id '{item_id}' already exists.", "item.id", code="item_id_exists")
        previous = event.get("previous_item_id") or self._last_item_id()
        stored = E.completed_item(item, item_id)
        self.items.append(stored)
        return Outcome(
            [
                E.event(self.ids, "conversation.item.added", previous_item_id=previous, item=stored),
                E.event(self.ids, "conversation.item.done", previous_item_id=previous, item=stored),
            ]
        )

    def _on_conversation_item_delete(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        item_id = _field(event, "item_id", str, "")
        if not any(i["id"] == item_id for i in self.items):
            raise _invalid(f"Item with item_id '{item_id}' not found.", "item_id", code="item_not_found")
        self.items = [i for i in self.items if i["id"] != item_id]
        return Outcome([E.event(self.ids, "conversation.item.deleted", item_id=item_id)])

    def _on_response_create(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        if self.active is not None:
            raise _invalid(
                "Conversation already has an active response in progress: "
                f"{self.active.response_id}. Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise errors.invalid_type("response", "an object", options)
        modalities = self.session["output_modalities"]
        if options.get("output_modalities") is not None:
            modalities = _modalities(options["output_modalities"], "response.output_modalities")
        voice = dig(options, "audio", "output", "voice") or dig(self.session, "audio", "output", "voice")
        if not isinstance(voice, str):
            voice = E.DEFAULT_VOICE
        self.responses += 1
        last_user = next(
            (text_of(i.get("content")) for i in reversed(self.items) if i.get("role") == "user"), ""
        )
        text = (
            spec.text
            if spec.text is not None
            else generate_text(self.seed, (self.model, last_user, self.responses), spec.tokens)
        )
        self.active = E.plan_response(
            self.ids,
            spec,
            text,
            modalities,
            voice,
            self.conversation_id,
            self._last_item_id(),
            self._input_tokens(),
            self.seed,
        )
        return Outcome(response=self.active)

    def _on_response_cancel(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        if self.active is None:
            raise _invalid(
                "Cancellation failed: no active response found.", code="response_cancel_not_active"
            )
        return Outcome(cancel=True)

    # --- what a finished response leaves behind ----------------------------------------------

    def finished(self, plan: E.ResponsePlan, delivered: bool) -> None:
        """The active response ended; a delivered one joins the conversation."""
        if delivered:
            content = {"type": "output_audio" if plan.is_audio else "output_text"}
            content["transcript" if plan.is_audio else "text"] = plan.text
            self.items.append(E.assistant_item(plan.item_id, "completed", [content]))
        if self.active is plan:
            self.active = None

    def cancelled_done(self, plan: E.ResponsePlan) -> dict[str, Any]:
        """``response.done`` for a response the client cancelled."""
        response = E.response_object(plan, "cancelled", [], done=True)
        response["status_details"] = {"type": "cancelled", "reason": "client_cancelled"}
        return E.event(self.ids, "response.done", response=response)

    def _last_item_id(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    def _input_tokens(self) -> tuple[int, int]:
        text = sum(count_tokens(text_of(i.get("content"))) for i in self.items)
        audio_tokens = sum(audio.audio_tokens(ms) for ms in self.audio_ms.values())
        return 3 + text, audio_tokens

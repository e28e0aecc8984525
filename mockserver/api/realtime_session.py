"""One Realtime connection's state, and what each client event does to it (no I/O).

:meth:`RealtimeSession.handle` takes one client message (raw text) and returns an
:class:`Outcome`: the server events to send at once, and, for ``response.create``, the planned
response whose events the handler delivers through the fault engine. A malformed or invalid
client event gives the realtime ``error`` event; the connection stays open, as with the real API.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import errors
from ..content import count_tokens, generate_text, rng_for, text_of, tokenize
from ..scenario.specs import ResponseSpec
from . import realtime_audio as audio
from . import realtime_events as E
from .realtime_vad import VAD_DEFAULTS, VAD_TYPES, Detector
from .schema_fill import instance_for
from .tool_pick import auto_pick

MIN_COMMIT_MS = 100
MODALITIES = (["audio"], ["text"])
ITEM_TYPES = ("message", "function_call", "function_call_output")
ITEM_ROLES = ("user", "assistant", "system")
TOOL_CHOICES = ("auto", "none", "required")
IDLE_TIMEOUT_MS = (5_000, 30_000)  # the range the real API accepts for idle_timeout_ms
IDLE_PROMPT = "Are you still there?"  # what the model says when an idle timeout fires
DURATION_BILLED = ("whisper-1",)  # transcription models billed by the second, not by the token
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
    cancel: E.ResponsePlan | None = None  # stop this response (response.cancel, a turn detected)
    cancel_reason: str = "client_cancelled"


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
        self.active: E.ResponsePlan | None = None  # the response writing to the conversation
        self.out_of_band: dict[str, E.ResponsePlan] = {}  # conversation "none" responses playing
        self.responses = 0
        self.vad = Detector()
        self.buffer_start_ms = 0  # where the buffer starts in all audio appended so far
        self.speech_item: str | None = None  # the item a detected turn will become
        self.output_audio_ms: dict[str, float] = {}  # assistant item id -> audio length

    # --- events the server sends on its own --------------------------------------------------

    def created(self) -> dict[str, Any]:
        return E.event(self.ids, "session.created", session=self.session)

    def error(self, err: errors.ApiError, client_event_id: str | None = None) -> dict[str, Any]:
        return E.error_event(self.ids, err, client_event_id)

    # --- client events -----------------------------------------------------------------------

    def handle(self, raw: str | bytes, spec: ResponseSpec) -> Outcome:
        try:
            # orjson, as the HTTP endpoints read their bodies: it refuses a lone surrogate (which
            # no reply could encode back, so the socket dropped) and nesting past 1024 levels
            event = orjson.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
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
        turn = dig(update, "audio", "input", "turn_detection")
        if turn is not None:
            if not isinstance(turn, dict):
                raise errors.invalid_type("session.audio.input.turn_detection", "an object", turn)
            if turn.get("type") not in VAD_TYPES:
                raise _invalid(
                    f"Invalid value: '{turn.get('type')}'. Supported values are: 'server_vad' and "
                    "'semantic_vad'.",
                    "session.audio.input.turn_detection.type",
                )
            if turn["type"] == "server_vad":
                _idle_timeout(turn.get("idle_timeout_ms"))
        transcription = dig(update, "audio", "input", "transcription")
        if transcription is not None:
            if not isinstance(transcription, dict):
                raise errors.invalid_type("session.audio.input.transcription", "an object", transcription)
            transcription.setdefault("model", "whisper-1")
            transcription.setdefault("language", None)
            transcription.setdefault("prompt", None)
        _tools(update, "session.")
        for key in ("id", "object", "expires_at"):  # the server's, not the client's
            update.pop(key, None)
        self.session = E.merge(self.session, update)
        if isinstance(turn, dict):  # a new kind of turn detection replaces the old, defaults filled
            self.session["audio"]["input"]["turn_detection"] = {**VAD_DEFAULTS[turn["type"]], **turn}
        return Outcome([E.event(self.ids, "session.updated", session=self.session)])

    def _on_input_audio_buffer_append(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        try:
            pcm = audio.decode_b64(_field(event, "audio", str, ""))
        except ValueError as exc:
            raise _invalid(str(exc), "audio") from None
        self.buffer += pcm
        turn_detection = self._turn_detection()
        out = Outcome()
        respond = False
        for turn in self.vad.feed(pcm, turn_detection):
            if turn.started_ms is not None:
                self.speech_item = self.ids.next("item_")
                out.events.append(
                    E.event(
                        self.ids,
                        "input_audio_buffer.speech_started",
                        audio_start_ms=max(turn.started_ms, self.buffer_start_ms),
                        item_id=self.speech_item,
                    )
                )
                if (turn_detection or {}).get("interrupt_response", True) and self.active is not None:
                    out.cancel, out.cancel_reason = self.active, "turn_detected"
            if turn.stopped_ms is not None:
                item_id = self.speech_item or self.ids.next("item_")
                self.speech_item = None
                out.events.append(
                    E.event(
                        self.ids,
                        "input_audio_buffer.speech_stopped",
                        audio_end_ms=turn.stopped_ms,
                        item_id=item_id,
                    )
                )
                cut = audio.samples_for_ms(turn.stopped_ms - self.buffer_start_ms) * audio.SAMPLE_BYTES
                said = bytes(self.buffer[:cut])
                del self.buffer[:cut]
                self.buffer_start_ms = turn.stopped_ms
                out.events += self._commit(said, item_id)
                respond = respond or bool((turn_detection or {}).get("create_response", True))
        if respond and (self.active is None or self.active is out.cancel):
            out.response = self._plan(spec, {})
        return out

    def _on_input_audio_buffer_commit(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        ms = audio.ms_of(bytes(self.buffer))
        if ms < MIN_COMMIT_MS:
            raise _invalid(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        said = bytes(self.buffer)
        item_id = (self.speech_item if self.vad.speaking else None) or self.ids.next("item_")
        self._buffer_gone()
        return Outcome(self._commit(said, item_id))

    def _commit(self, pcm: bytes, item_id: str) -> list[dict[str, Any]]:
        """The committed buffer becomes a user item; with transcription on, its transcript."""
        ms = audio.ms_of(pcm)
        self.audio_ms[item_id] = ms
        previous = self._last_item_id()
        item = E.input_audio_item(item_id)
        self.items.append(item)
        events = [
            E.event(self.ids, "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
            E.event(self.ids, "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)),
            E.event(self.ids, "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)),
        ]
        transcription = dig(self.session, "audio", "input", "transcription")
        if isinstance(transcription, dict):
            events += self._transcribe(pcm, ms, item, transcription)
        return events

    def _transcribe(
        self, pcm: bytes, ms: float, item: dict[str, Any], transcription: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """``.input_audio_transcription.delta`` per word, then ``.completed`` with usage; no
        audio (an idle timeout's empty commit) is an empty transcript."""
        words = max(1, round(ms / audio.MS_PER_TOKEN))
        transcript = (
            generate_text(self.seed, ("transcript", hashlib.sha256(pcm).hexdigest()), words) if pcm else ""
        )
        item["content"][0]["transcript"] = transcript
        where = {"item_id": item["id"], "content_index": 0}
        events = [
            E.event(self.ids, "conversation.item.input_audio_transcription.delta", **where, delta=piece)
            for piece in tokenize(transcript)
        ]
        if transcription.get("model") in DURATION_BILLED:
            usage: dict[str, Any] = {"type": "duration", "seconds": round(ms / 1000, 3)}
        else:
            audio_tokens, text_tokens = audio.audio_tokens(ms), len(tokenize(transcript))
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
                "output_tokens": text_tokens,
                "total_tokens": audio_tokens + text_tokens,
            }
        events.append(
            E.event(
                self.ids,
                "conversation.item.input_audio_transcription.completed",
                **where,
                transcript=transcript,
                usage=usage,
            )
        )
        return events

    def _on_input_audio_buffer_clear(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        self._buffer_gone()
        return Outcome([E.event(self.ids, "input_audio_buffer.cleared")])

    def _buffer_gone(self) -> None:
        self.buffer.clear()
        self.vad.reset()
        self.speech_item = None
        self.buffer_start_ms = int(self.vad.total_ms)

    def _turn_detection(self) -> dict[str, Any] | None:
        turn = dig(self.session, "audio", "input", "turn_detection")
        return turn if isinstance(turn, dict) else None

    def idle_timeout_ms(self) -> int | None:
        """The server VAD's ``idle_timeout_ms``, when the session sets one."""
        turn = self._turn_detection()
        if turn is None or turn.get("type") != "server_vad":
            return None
        timeout = turn.get("idle_timeout_ms")
        return timeout if isinstance(timeout, int) else None

    def timeout_triggered(self, spec: ResponseSpec) -> Outcome:
        """No speech for ``idle_timeout_ms`` after the last response: the real API says
        ``input_audio_buffer.timeout_triggered`` for the silent stretch, commits the buffer (empty
        or not) as a user audio item and answers it, prompting the user to go on."""
        timeout = self.idle_timeout_ms() or 0
        end_ms = int(self.vad.total_ms)
        item_id = self.ids.next("item_")
        out = Outcome(
            [
                E.event(
                    self.ids,
                    "input_audio_buffer.timeout_triggered",
                    audio_start_ms=max(self.buffer_start_ms, end_ms - timeout),
                    audio_end_ms=end_ms,
                    item_id=item_id,
                )
            ]
        )
        said = bytes(self.buffer)
        self._buffer_gone()
        out.events += self._commit(said, item_id)
        turn = self._turn_detection() or {}
        if turn.get("create_response", True) and self.active is None:
            out.response = self._plan(spec, {}, idle=True)
        return out

    def _on_conversation_item_create(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        item = _field(event, "item", dict, "")
        _check_item(item, "item")
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

    def _on_conversation_item_retrieve(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        item = self._item(_field(event, "item_id", str, ""))
        return Outcome([E.event(self.ids, "conversation.item.retrieved", item=copy.deepcopy(item))])

    def _on_conversation_item_truncate(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        """Cut an assistant's audio where the user stopped hearing it; the transcript keeps only
        the words heard by then, so the context holds nothing the user did not hear."""
        item_id = _field(event, "item_id", str, "")
        index, end_ms = event.get("content_index"), event.get("audio_end_ms")
        for name, value in (("content_index", index), ("audio_end_ms", end_ms)):
            if value is None:
                raise errors.missing_param(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise errors.invalid_type(name, "an integer", value)
            if value < 0:
                raise _invalid(f"Invalid '{name}': expected a value >= 0, but got {value} instead.", name)
        item = self._item(item_id)
        content = item.get("content") or []
        if (
            item.get("role") != "assistant"
            or index >= len(content)
            or content[index].get("type") != "output_audio"
        ):
            raise _invalid(
                "Only model output audio messages can be truncated", code="unsupported_content_type"
            )
        length = self.output_audio_ms.get(item_id, 0.0)
        if end_ms > length:
            raise _invalid(
                f"Audio content of {int(length)}ms is already shorter than {end_ms}ms", "audio_end_ms"
            )
        self.output_audio_ms[item_id] = float(end_ms)
        heard = tokenize(content[index].get("transcript") or "")[: end_ms // audio.MS_PER_TOKEN]
        content[index]["transcript"] = "".join(heard).strip()
        return Outcome(
            [
                E.event(
                    self.ids,
                    "conversation.item.truncated",
                    item_id=item_id,
                    content_index=index,
                    audio_end_ms=end_ms,
                )
            ]
        )

    def _item(self, item_id: str) -> dict[str, Any]:
        item = next((i for i in self.items if i["id"] == item_id), None)
        if item is None:
            raise _invalid(f"Item with item_id '{item_id}' not found.", "item_id", code="item_not_found")
        return item

    def _on_response_create(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        """A response for the conversation (one at a time), or with ``conversation: "none"`` an
        out-of-band one: it plays beside any other, its items stay out of the conversation, and
        ``input`` (items, or ``item_reference`` to the conversation's) can replace its context."""
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise errors.invalid_type("response", "an object", options)
        conversation = options.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise _invalid(
                f"Invalid value: '{conversation}'. Supported values are: 'auto' and 'none'.",
                "response.conversation",
            )
        if conversation == "auto" and self.active is not None:
            raise _invalid(
                "Conversation already has an active response in progress: "
                f"{self.active.response_id}. Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        metadata = options.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise errors.invalid_type("response.metadata", "an object of strings", metadata)
        _tools(options, "response.")
        return Outcome(response=self._plan(spec, options, context=self._context(options.get("input"))))

    def _context(self, given: Any) -> list[dict[str, Any]] | None:
        """A response's own ``input``, references resolved; None: the conversation."""
        if given is None:
            return None
        if not isinstance(given, list):
            raise errors.invalid_type("response.input", "an array", given)
        items = []
        for i, item in enumerate(given):
            where = f"response.input[{i}]"
            if not isinstance(item, dict):
                raise errors.invalid_type(where, "an object", item)
            if item.get("type") == "item_reference":
                ref = _field(item, "id", str, where + ".")
                found = next((x for x in self.items if x["id"] == ref), None)
                if found is None:
                    raise _invalid(
                        f"Item with item_id '{ref}' not found.", where + ".id", code="item_not_found"
                    )
                items.append(found)
                continue
            _check_item(item, where)
            items.append(E.completed_item(item, item.get("id") or self.ids.next("item_")))
        return items

    def _plan(
        self,
        spec: ResponseSpec,
        options: dict[str, Any],
        context: list[dict[str, Any]] | None = None,
        idle: bool = False,
    ) -> E.ResponsePlan:
        """The next response: a function call when a tool is chosen, else text or audio."""
        modalities = self.session["output_modalities"]
        if options.get("output_modalities") is not None:
            modalities = _modalities(options["output_modalities"], "response.output_modalities")
        voice = dig(options, "audio", "output", "voice") or dig(self.session, "audio", "output", "voice")
        if not isinstance(voice, str):
            voice = E.DEFAULT_VOICE
        self.responses += 1
        items = self.items if context is None else context
        last_user = next((said(i) for i in reversed(items) if i.get("role") == "user"), "")
        tools = options["tools"] if options.get("tools") is not None else self.session.get("tools") or []
        choice = (
            options["tool_choice"]
            if options.get("tool_choice") is not None
            else self.session.get("tool_choice")
        )
        tool = None if idle else self._chosen_tool(tools, choice, last_user, items)
        call = None
        if tool is not None:
            rng = rng_for(self.seed, "tool", (self.model, last_user, self.responses))
            text = json.dumps(instance_for(tool.get("parameters") or {"type": "object"}, rng))
            call = E.FunctionCall(tool["name"], self.ids.next("call_"))
        elif spec.text is not None:
            text = spec.text
        elif idle:
            text = IDLE_PROMPT
        else:
            text = generate_text(self.seed, (self.model, last_user, self.responses), spec.tokens)
        in_band = options.get("conversation", "auto") == "auto"
        plan = E.plan_response(
            self.ids,
            spec,
            text,
            modalities,
            voice,
            self.conversation_id if in_band else None,
            self._last_item_id(),
            self._input_tokens(items),
            self.seed,
            call,
            options.get("metadata"),
        )
        if in_band:
            self.active = plan
        else:
            self.out_of_band[plan.response_id] = plan
        return plan

    def _chosen_tool(
        self, tools: list[dict[str, Any]], choice: Any, last_user: str, items: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The function the model calls: the one named, the first under "required", under "auto"
        one whose name the user's words mention (:mod:`.tool_pick`). After a
        ``function_call_output`` the model answers with the result instead."""
        functions = [t for t in tools if t.get("type") == "function" and isinstance(t.get("name"), str)]
        if not functions or choice == "none" or (items and items[-1]["type"] == "function_call_output"):
            return None
        if isinstance(choice, dict):
            return next((t for t in functions if t["name"] == choice.get("name")), None)
        if choice == "required":
            return functions[0]
        return auto_pick(functions, lambda t: t["name"], last_user)

    def _on_response_cancel(self, event: dict[str, Any], spec: ResponseSpec) -> Outcome:
        """Cancel ``response_id`` (an out-of-band response too), or the conversation's response."""
        wanted = event.get("response_id")
        if wanted is not None and not isinstance(wanted, str):
            raise errors.invalid_type("response_id", "a string", wanted)
        playing = [p for p in (self.active, *self.out_of_band.values()) if p is not None]
        target = next((p for p in playing if p.response_id == wanted), None) if wanted else self.active
        if target is None:
            raise _invalid(
                "Cancellation failed: no active response found.", code="response_cancel_not_active"
            )
        return Outcome(cancel=target)

    # --- what a finished response leaves behind ----------------------------------------------

    def finished(self, plan: E.ResponsePlan, delivered: bool) -> None:
        """A response ended; a delivered one joins the conversation, unless out of band."""
        if delivered and plan.in_conversation:
            self.items.append(E.output_item(plan))
            if plan.is_audio:
                self.output_audio_ms[plan.item_id] = plan.audio_ms
        if self.active is plan:
            self.active = None
        self.out_of_band.pop(plan.response_id, None)

    def cancelled_done(self, plan: E.ResponsePlan, reason: str = "client_cancelled") -> dict[str, Any]:
        """``response.done`` for a response the client cancelled, or a detected turn cut short."""
        response = E.response_object(plan, "cancelled", [], done=True)
        response["status_details"] = {"type": "cancelled", "reason": reason}
        return E.event(self.ids, "response.done", response=response)

    def _last_item_id(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    def _input_tokens(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        text = sum(count_tokens(said(i)) for i in items)
        audio_tokens = sum(audio.audio_tokens(self.audio_ms.get(i["id"], 0.0)) for i in items)
        return 3 + text, audio_tokens


def said(item: dict[str, Any]) -> str:
    """The words of an item: its text, transcripts, a call's arguments or a call's output."""
    content = item.get("content")
    parts = [text_of(content)] if content else []
    parts += [
        c["transcript"] for c in content or () if isinstance(c, dict) and isinstance(c.get("transcript"), str)
    ]
    for key in ("arguments", "output"):
        if isinstance(item.get(key), str):
            parts.append(item[key])
    return " ".join(p for p in parts if p)


def _check_item(item: dict[str, Any], where: str) -> None:
    """A client's conversation item (``conversation.item.create``, ``response.input``)."""
    kind = _field(item, "type", str, where + ".")
    if kind not in ITEM_TYPES:
        supported = ", ".join(f"'{t}'" for t in ITEM_TYPES)
        raise _invalid(f"Invalid value: '{kind}'. Supported values are: {supported}.", where + ".type")
    if kind == "message":
        role = _field(item, "role", str, where + ".")
        if role not in ITEM_ROLES:
            supported = ", ".join(f"'{r}'" for r in ITEM_ROLES)
            raise _invalid(f"Invalid value: '{role}'. Supported values are: {supported}.", where + ".role")
        _field(item, "content", list, where + ".")
    elif kind == "function_call_output":
        _field(item, "call_id", str, where + ".")
        if not isinstance(item.get("output"), str):
            raise errors.invalid_type(where + ".output", "a string", item.get("output"))
    elif kind == "function_call":
        _field(item, "name", str, where + ".")
        item.setdefault("arguments", "")


def _idle_timeout(value: Any) -> None:
    """``idle_timeout_ms``: null, or an integer from 5 000 to 30 000 ms, as the real API takes."""
    param = "session.audio.input.turn_detection.idle_timeout_ms"
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid_type(param, "an integer", value)
    low, high = IDLE_TIMEOUT_MS
    if value < low:
        raise _invalid(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param,
        )
    if value > high:
        raise _invalid(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param,
        )


def _tools(options: dict[str, Any], where: str) -> None:
    """Validate ``tools`` and ``tool_choice`` of a session or a response; fill the defaults."""
    tools = options.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise errors.invalid_type(f"{where}tools", "an array", tools)
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise errors.invalid_type(f"{where}tools[{i}]", "an object", tool)
            if tool.get("type") not in ("function", "mcp"):
                raise _invalid(
                    f"Invalid value: '{tool.get('type')}'. Supported values are: 'function' and 'mcp'.",
                    f"{where}tools[{i}].type",
                )
            if tool["type"] == "function":
                _field(tool, "name", str, f"{where}tools[{i}].")
                tool.setdefault("description", "")
                tool.setdefault("parameters", {"type": "object", "properties": {}})
    choice = options.get("tool_choice")
    if choice is None or choice in TOOL_CHOICES:
        return
    if not isinstance(choice, dict) or choice.get("type") not in ("function", "mcp"):
        raise _invalid(
            f"Invalid value for '{where}tool_choice': expected 'auto', 'none', 'required' or a "
            "function to call.",
            f"{where}tool_choice",
        )
    if choice["type"] == "function":
        _field(choice, "name", str, f"{where}tool_choice.")

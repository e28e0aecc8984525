"""Streams that survive a dropped connection (seed 002).

A :class:`ResilientStream` opens an SDK stream, and when it breaks (connection error, timeout,
a retryable status, or an end without the stream's terminator) it waits per :class:`Backoff`
and reconnects:

- a **background Responses** stream whose response id is known is *resumed*:
  ``responses.retrieve(id, stream=True, starting_after=<last sequence_number>)``; events whose
  ``sequence_number`` was already delivered are never yielded again;
- a **chat** stream (and a foreground Responses stream) cannot be resumed, so it is *restarted*
  from scratch, and the stream says so by yielding a :class:`StreamRestarted` marker: whatever
  the consumer built from earlier events must be discarded.

Every reconnect is recorded in ``reconnects`` and passed to ``on_reconnect``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from .backoff import Backoff

log = logging.getLogger("harness.connectors.stream")

RESPONSES_TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
RETRYABLE_STATUS = frozenset({408, 409, 429})


class StreamIncomplete(Exception):
    """The stream ended cleanly but before its terminator (e.g. ``response.completed``)."""


class StreamGaveUp(Exception):
    """Reconnecting did not help: every retry the backoff allowed failed too."""

    def __init__(self, message: str, reconnects: list[Reconnect], response_id: str | None) -> None:
        super().__init__(message)
        self.reconnects = reconnects
        self.response_id = response_id


@dataclass(frozen=True, slots=True)
class Reconnect:
    retry: int  # 1-based
    kind: Literal["resume", "restart"]
    delay_ms: float
    reason: str
    starting_after: int | None = None  # the resume cursor


@dataclass(frozen=True, slots=True)
class StreamRestarted:
    """Yielded when a stream had to start over: discard what earlier events built."""

    retry: int
    reason: str
    discarded_events: int
    type: str = "stream.restarted"  # so event debuggers count it under its own name


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    name = type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or name
    if isinstance(exc, openai.APIConnectionError) and cause is not None:
        return f"{name}: {text} ({type(cause).__name__}: {cause})"
    return text if text.startswith(name) else f"{name}: {text}"


def is_retryable(exc: BaseException) -> bool:
    """Whether reconnecting may help: transport failures, incomplete streams, 408/409/429/5xx."""
    if isinstance(exc, (openai.APIConnectionError, StreamIncomplete)):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return False


Opener = Callable[[], Awaitable[Any]]


@dataclass
class ResilientStream:
    """One logical stream over as many connections as it takes. Iterate it once.

    Build it with :meth:`chat` or :meth:`responses`. ``restart=False`` makes a stream that cannot
    resume fail instead of starting over (the image connectors use this so that no partial image
    is ever shown twice).
    """

    open_first: Opener
    kind: Literal["chat", "responses"]
    backoff: Backoff = field(default_factory=Backoff)
    resume: Callable[[str, int], Awaitable[Any]] | None = None  # (response_id, starting_after)
    restart: bool = True
    on_reconnect: Callable[[Reconnect], Any] | None = None
    reconnects: list[Reconnect] = field(default_factory=list)
    response_id: str | None = None
    last_sequence_number: int | None = None
    events_delivered: int = 0
    _seen: set[int] = field(default_factory=set)
    _finished: set[int] = field(default_factory=set)

    @classmethod
    def chat(
        cls,
        client: openai.AsyncOpenAI,
        *,
        backoff: Backoff | None = None,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        **params: Any,
    ) -> ResilientStream:
        """A chat completions stream; restarted (never resumed) after a drop."""
        params["stream"] = True
        return cls(
            lambda: client.chat.completions.create(**params),
            "chat",
            backoff or Backoff(),
            on_reconnect=on_reconnect,
        )

    @classmethod
    def responses(
        cls,
        client: openai.AsyncOpenAI,
        *,
        backoff: Backoff | None = None,
        restart: bool = True,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        **params: Any,
    ) -> ResilientStream:
        """A Responses stream; resumed by sequence number when ``background=True``."""
        params["stream"] = True
        resume = None
        if params.get("background"):

            def resume(rid: str, after: int) -> Awaitable[Any]:
                return client.responses.retrieve(rid, stream=True, starting_after=after)

        return cls(
            lambda: client.responses.create(**params),
            "responses",
            backoff or Backoff(),
            resume=resume,
            restart=restart,
            on_reconnect=on_reconnect,
        )

    # --- policy, one small method each ------------------------------------------------------

    def can_resume(self) -> bool:
        return self.resume is not None and self.response_id is not None

    def is_terminal(self, event: Any) -> bool:
        if self.kind == "responses":
            return getattr(event, "type", None) in RESPONSES_TERMINAL
        return False  # chat: the SDK consumes [DONE]; completion is judged by finish_reason

    def is_duplicate(self, event: Any) -> bool:
        seq = getattr(event, "sequence_number", None)
        if self.kind != "responses" or not isinstance(seq, int):
            return False
        if seq in self._seen:
            return True
        self._seen.add(seq)
        self.last_sequence_number = max(seq, self.last_sequence_number or seq)
        return False

    def note(self, event: Any) -> None:
        if getattr(event, "type", None) == "response.created":
            self.response_id = event.response.id
        for choice in getattr(event, "choices", None) or ():
            if choice.finish_reason is not None:
                self._finished.add(choice.index)

    def chat_complete(self) -> bool:
        return self.kind == "chat" and bool(self._finished)

    # --- the loop ---------------------------------------------------------------------------

    async def _connect(self) -> Any:
        if self.can_resume():
            assert self.resume is not None and self.response_id is not None
            return await self.resume(self.response_id, self.last_sequence_number or 0)
        return await self.open_first()

    async def __aiter__(self) -> AsyncIterator[Any]:
        retry = 0
        since_open = 0
        while True:
            try:
                stream = await self._connect()
                try:
                    async for event in stream:
                        if self.is_duplicate(event):
                            continue
                        self.note(event)
                        self.events_delivered += 1
                        since_open += 1
                        yield event
                        if self.is_terminal(event):
                            return
                finally:
                    await stream.close()
                if self.kind == "chat" and self.chat_complete():
                    return
                raise StreamIncomplete("the stream ended before its terminator")
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                retry += 1
                reason = describe_error(exc)
                resumable = self.can_resume()
                if not resumable and not self.restart:
                    raise StreamGaveUp(
                        f"stream broke and cannot be resumed: {reason}", self.reconnects, self.response_id
                    ) from exc
                if not self.backoff.allows(retry):
                    raise StreamGaveUp(
                        f"stream failed after {retry - 1} reconnects: {reason}",
                        self.reconnects,
                        self.response_id,
                    ) from exc
                kind: Literal["resume", "restart"] = "resume" if resumable else "restart"
                delay = await self.backoff.wait(retry)
                rec = Reconnect(retry, kind, delay, reason, self.last_sequence_number if resumable else None)
                self.reconnects.append(rec)
                log.warning("stream %s (retry %d after %.0f ms): %s", kind, retry, delay, reason)
                if self.on_reconnect is not None:
                    self.on_reconnect(rec)
                if kind == "restart":
                    yield StreamRestarted(retry, reason, since_open)
                    self._seen.clear()
                    self._finished.clear()
                    self.last_sequence_number = None
                    self.response_id = None
                since_open = 0

"""The realtime voice client of seed 003, done right, over the SDK's async realtime connection.

One session: connect (``client.realtime.connect``), wait for ``session.created``, configure PCM16
24 kHz in and out with manual turns (``session.update``, checked against ``session.updated``), then
per turn stream microphone-like input as ~20 ms base64 chunks (``input_audio_buffer.append``),
``input_audio_buffer.commit`` and ``response.create``, and play the answer through the accounting
jitter buffer (:class:`~harness.connectors.realtime_audio.PlaybackTimeline`) until ``response.done``.

A connection that is refused, reset, dropped or silent past ``idle_timeout_ms`` is retried on a new
connection with :class:`~harness.connectors.realtime_backoff.ReconnectPolicy` (exponential
backoff, jitter, a cap on attempts, every attempt and wait recorded): the turn that was cut off is
sent again, finished turns are kept. Past the cap the client raises :class:`RealtimeGaveUp`
naming the attempts and the last failure. What cannot be fixed by reconnecting (a refused key, a
session that will not play 24 kHz PCM, an ``error`` event answering the turn) raises
:class:`RealtimeSessionError` at once. Both carry the :class:`RealtimeSessionResult` so far.

Durations are scenario milliseconds; ``time_scale`` turns them into real waits (1.0 in use, small
in tests) and runs the playback clock in the same scenario time as the mock's event timing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import openai
from openai.types.websocket_connection_options import WebSocketConnectionOptions
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .realtime_audio import (
    JITTER_BUFFER_MS,
    SAMPLE_RATE,
    PlaybackTimeline,
    encode_pcm16,
    pcm16_chunks,
    samples_ms,
)
from .realtime_backoff import ReconnectPolicy
from .realtime_result import COMPLETE, FAILED, GAVE_UP, ConnectAttempt, RealtimeSessionResult

PCM_24K = {"type": "audio/pcm", "rate": SAMPLE_RATE}
SERVER_ERROR = "server_error"  # the error event type a new connection may get past
RETRYABLE_STATUSES = frozenset({408, 409, 429})  # and every status >= 500, like the SDK's HTTP retries

EventHook = Callable[[Any], None]


class RealtimeSessionError(Exception):
    """The session cannot work and reconnecting would not help; the message says why."""

    def __init__(self, message: str, result: RealtimeSessionResult) -> None:
        super().__init__(message)
        self.result = result


class RealtimeGaveUp(RealtimeSessionError):
    """Every connection attempt the policy allows failed."""


class _SessionLost(Exception):
    """The session broke in a way a new connection may fix (silence, a server error in band)."""


def describe(exc: BaseException) -> str:
    """A failure as one line: what happened on the wire, not a traceback."""
    if isinstance(exc, InvalidStatus):
        return f"WebSocket upgrade refused with HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = f" ({exc.rcvd.reason})" if exc.rcvd is not None and exc.rcvd.reason else ""
        frame = "" if exc.rcvd is not None else " without a close frame"
        return f"WebSocket closed{frame}: code {code}{reason}"
    if isinstance(exc, (TimeoutError, _SessionLost)):
        return str(exc) or "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retry_after_ms(exc: BaseException) -> float | None:
    """What a refused upgrade's ``retry-after-ms`` or ``retry-after`` (seconds) header asks for."""
    if not isinstance(exc, InvalidStatus):
        return None
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 1.0), ("retry-after", 1000.0)):
        try:
            value = float(headers.get(name, ""))
        except ValueError:
            continue
        if value >= 0:
            return value * scale
    return None


def should_reconnect(exc: BaseException) -> bool:
    """Whether a new connection may succeed where this one failed (a refused key or a missing model
    will not; a drop, a reset, an overloaded or failing server may)."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return status in RETRYABLE_STATUSES or status >= 500
    return isinstance(exc, (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, _SessionLost))


def session_config(voice: str, instructions: str | None = None) -> dict[str, Any]:
    """``session.update``'s session: audio out, PCM16 24 kHz both ways, turns committed by the client."""
    session: dict[str, Any] = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": dict(PCM_24K), "turn_detection": None},
            "output": {"format": dict(PCM_24K), "voice": voice},
        },
    }
    if instructions:
        session["instructions"] = instructions
    return session


def format_problem(session: Any) -> str | None:
    """What is wrong with the effective session's audio formats (the seed's sample-rate mismatch)."""
    audio = getattr(session, "audio", None)
    for side in ("input", "output"):
        fmt = getattr(getattr(audio, side, None), "format", None)
        if fmt is None:
            continue
        kind, rate = getattr(fmt, "type", None), getattr(fmt, "rate", None)
        if kind != PCM_24K["type"] or (rate is not None and rate != SAMPLE_RATE):
            return f"session {side} audio is {kind} at {rate} Hz; this client plays audio/pcm at {SAMPLE_RATE} Hz"
    return None


class RealtimeVoiceClient:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str = "gpt-realtime",
        voice: str = "alloy",
        instructions: str | None = None,
        policy: ReconnectPolicy | None = None,
        chunk_ms: float = 20.0,
        jitter_buffer_ms: float = JITTER_BUFFER_MS,
        connect_timeout_ms: float = 10_000.0,
        idle_timeout_ms: float = 30_000.0,
        close_timeout_ms: float = 2_000.0,
        drain_playback: bool = True,
        time_scale: float = 1.0,
        on_event: EventHook | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.client = client
        self.model = model
        self.voice = voice
        self.instructions = instructions
        self.policy = policy or ReconnectPolicy()
        self.chunk_ms = chunk_ms
        self.jitter_buffer_ms = jitter_buffer_ms
        self.connect_timeout_ms = connect_timeout_ms
        self.idle_timeout_ms = idle_timeout_ms
        self.close_timeout_ms = close_timeout_ms
        self.drain_playback = drain_playback
        self.time_scale = time_scale
        self.on_event = on_event

    # -- time: scenario seconds on the playback clock, scaled real waits --

    def now(self) -> float:
        return time.monotonic() / self.time_scale

    def real_s(self, scenario_ms: float) -> float:
        return max(0.0, scenario_ms) * self.time_scale / 1000.0

    async def sleep_ms(self, scenario_ms: float) -> None:
        if scenario_ms > 0:
            await asyncio.sleep(self.real_s(scenario_ms))

    def wait_ms(self, attempt: int, asked_ms: float | None) -> float:
        """The wait before ``attempt`` in scenario ms: the policy's, or longer when the server's
        Retry-After (real time) asked for more, never past the policy's cap."""
        wait = self.policy.delay_ms(attempt)
        if attempt > 1 and asked_ms is not None:
            wait = max(wait, min(asked_ms / self.time_scale, self.policy.backoff.max_ms))
        return wait

    # -- the session --

    async def converse(self, turns: Sequence[bytes]) -> RealtimeSessionResult:
        """Speak each turn (PCM16 24 kHz mono) and play each answer; reconnect as the policy allows."""
        if not turns:
            raise ValueError("a conversation needs at least one turn of input audio")
        result = RealtimeSessionResult(
            self.model, playback=PlaybackTimeline(jitter_buffer_ms=self.jitter_buffer_ms)
        )
        chunked = [pcm16_chunks(pcm, self.chunk_ms) for pcm in turns]
        done = 0  # turns answered
        streak = 0  # attempts since the last answered turn (that one's connection included): capped
        last_failure = ""
        asked_ms: float | None = None  # what the last refusal's Retry-After asked for (real ms)
        while done < len(turns):
            streak += 1
            if not self.policy.allows(streak):
                self._end(result, GAVE_UP)
                raise RealtimeGaveUp(
                    f"gave up after {streak - 1} connection attempt(s) to {self.model}: last failure: "
                    f"{last_failure}",
                    result,
                )
            waited = self.wait_ms(streak, asked_ms)
            await self.sleep_ms(waited)
            connected = False
            try:
                async with asyncio.timeout(self.real_s(self.connect_timeout_ms)):
                    manager = self.client.realtime.connect(
                        model=self.model, websocket_connection_options=self._ws_options()
                    )
                    connection = await manager.enter()
                connected = True
                try:
                    await self._open_session(connection, result)
                    while done < len(turns):
                        await self._turn(connection, chunked[done], result)
                        done += 1
                        streak = 1  # this connection answered: a failure now is its first reconnect
                    await self._drain(result)
                finally:
                    await self._close(connection)
            except RealtimeSessionError as exc:
                result.attempts.append(ConnectAttempt(len(result.attempts) + 1, waited, connected, str(exc)))
                self._end(result, FAILED)
                raise
            except Exception as exc:
                if not should_reconnect(exc):
                    failure = describe(exc)
                    result.attempts.append(
                        ConnectAttempt(len(result.attempts) + 1, waited, connected, failure)
                    )
                    result.errors.append(failure)
                    self._end(result, FAILED)
                    raise RealtimeSessionError(f"{self.model}: {failure}; not retried", result) from exc
                last_failure = describe(exc)
                asked_ms = retry_after_ms(exc)
                result.errors.append(last_failure)
                result.playback.drop_unfinished()
                result.attempts.append(
                    ConnectAttempt(len(result.attempts) + 1, waited, connected, last_failure)
                )
                continue
            result.attempts.append(ConnectAttempt(len(result.attempts) + 1, waited, True))
        self._end(result, COMPLETE)
        return result

    def _ws_options(self) -> WebSocketConnectionOptions:
        """A server that never answers our close frame holds the session for ``close_timeout_ms``
        at most (the websockets default would be 10 s)."""
        return cast(WebSocketConnectionOptions, {"close_timeout": self.real_s(self.close_timeout_ms)})

    def _end(self, result: RealtimeSessionResult, outcome: str) -> None:
        result.outcome = outcome
        result.playback.close(self.now())

    async def _close(self, connection: Any) -> None:
        try:
            await connection.close()
        except Exception:  # closing a connection that already went away: nothing left to do
            pass

    async def _recv(self, connection: Any, result: RealtimeSessionResult) -> Any:
        """The next server event; silence past ``idle_timeout_ms`` counts as a lost connection."""
        try:
            async with asyncio.timeout(self.real_s(self.idle_timeout_ms)):
                event = await connection.recv()
        except TimeoutError:
            raise _SessionLost(f"no event for {self.idle_timeout_ms:.0f} ms") from None
        result.event_counts[event.type] += 1
        if self.on_event is not None:
            self.on_event(event)
        if event.type == "error":
            err = event.error
            result.errors.append(
                f"error event: {err.type}{f' ({err.code})' if err.code else ''}: {err.message}"
            )
        return event

    async def _wait_for(self, connection: Any, result: RealtimeSessionResult, kind: str) -> Any:
        while True:
            event = await self._recv(connection, result)
            if event.type == kind:
                return event
            if event.type == "error":
                self._refused(event, result, f" (waiting for {kind})")

    def _refused(self, event: Any, result: RealtimeSessionResult, where: str = "") -> None:
        """An ``error`` event that ends the turn: a server error may pass on a new connection; a
        refused request will not."""
        if event.error.type == SERVER_ERROR:
            raise _SessionLost(result.errors[-1])
        raise RealtimeSessionError(f"{self.model}: {result.errors[-1]}{where}", result)

    async def _open_session(self, connection: Any, result: RealtimeSessionResult) -> None:
        await self._wait_for(connection, result, "session.created")
        await connection.session.update(session=session_config(self.voice, self.instructions))
        updated = await self._wait_for(connection, result, "session.updated")
        problem = format_problem(updated.session)
        if problem:
            result.errors.append(problem)
            raise RealtimeSessionError(f"{self.model}: {problem}", result)

    async def _turn(self, connection: Any, chunks: list[bytes], result: RealtimeSessionResult) -> None:
        for chunk in chunks:
            await connection.input_audio_buffer.append(audio=encode_pcm16(chunk))
        result.input_chunks += len(chunks)
        result.input_ms += samples_ms(sum(len(c) for c in chunks) // 2)
        await connection.input_audio_buffer.commit()
        await connection.response.create()
        await self._play_response(connection, result)

    async def _play_response(self, connection: Any, result: RealtimeSessionResult) -> None:
        playback = result.playback
        response_id: str | None = None
        while True:
            event = await self._recv(connection, result)
            kind = event.type
            if kind == "response.created":
                response_id = event.response.id or f"response-{len(playback.responses) + 1}"
                playback.start_response(response_id)
            elif kind == "response.output_audio.delta":
                playback.schedule(event.response_id, event.delta, self.now())
            elif kind == "response.output_audio_transcript.delta":
                playback.add_transcript(event.response_id, event.delta)
            elif kind == "response.done":
                rid = event.response.id or response_id or f"response-{len(playback.responses) + 1}"
                resp = playback.finish_response(rid, event.response.status)
                if resp.silent:
                    result.errors.append(
                        f"response {rid} finished with a transcript but no playable audio: "
                        f"{resp.chunks} audio chunk(s), {len(resp.transcript)} transcript characters"
                    )
                return
            elif kind == "error" and (response_id is None or event.error.type == SERVER_ERROR):
                self._refused(event, result)  # no answer will come on this connection

    async def _drain(self, result: RealtimeSessionResult) -> None:
        """Let queued audio play out before closing, so the end of an answer is heard."""
        if self.drain_playback:
            await self.sleep_ms(result.playback.queued_ms(self.now()))

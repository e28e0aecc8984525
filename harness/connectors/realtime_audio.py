"""PCM16 audio for the realtime voice client (seed 003): microphone-like input and a playback model. Pure.

The Realtime API speaks 16-bit little-endian mono PCM at 24 kHz in both directions, base64 in the
JSON events. Input goes out as ~20 ms chunks (``input_audio_buffer.append``); output arrives as
``response.output_audio.delta`` chunks that a player schedules on a timeline.

:class:`PlaybackTimeline` is an accounting model of the jitter buffer the seed describes: each
decoded chunk is scheduled at ``max(now + lead, next_scheduled)``, the first one of a response
after ``jitter_buffer_ms`` of priming. A chunk that arrives after the timeline ran dry is an
underrun (a gap of silence in the middle of a response). Audio that can never be heard is counted
as such instead of passing for silence: a response that finished with a transcript but no playable
audio, chunks for a response that had already finished, chunks that arrive after the session
closed, and audio still queued when it closed.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field

SAMPLE_RATE = 24_000
SAMPLE_WIDTH = 2  # bytes per PCM16 sample, mono
CHUNK_MS = 20
JITTER_BUFFER_MS = 80.0  # the seed's balance between smoothness and latency
LEAD_MS = 20.0  # the seed's minimal scheduling delay
DROPPED = "dropped"  # a response whose connection went away before response.done


class AudioFormatError(ValueError):
    """An audio payload that is not base64 PCM16 mono; the message says what is wrong."""


def samples_ms(samples: int, rate: int = SAMPLE_RATE) -> float:
    return samples * 1000.0 / rate


def tone_pcm16(duration_ms: float, *, freq_hz: float = 440.0, amplitude: float = 0.3) -> bytes:
    """A sine tone as microphone-like PCM16 at 24 kHz: deterministic input for a voice turn."""
    if duration_ms <= 0:
        raise ValueError(f"duration_ms must be > 0, got {duration_ms}")
    n = round(duration_ms * SAMPLE_RATE / 1000)
    peak = int(32767 * max(0.0, min(1.0, amplitude)))
    return b"".join(
        int(peak * math.sin(2 * math.pi * freq_hz * i / SAMPLE_RATE)).to_bytes(2, "little", signed=True)
        for i in range(n)
    )


def pcm16_chunks(pcm: bytes, chunk_ms: float = CHUNK_MS) -> list[bytes]:
    """Split PCM16 into chunks of ``chunk_ms`` (the last one may be shorter), never cutting a sample."""
    if len(pcm) % SAMPLE_WIDTH:
        raise AudioFormatError(f"PCM16 audio must be a whole number of 2-byte samples, got {len(pcm)} bytes")
    if chunk_ms <= 0:
        raise ValueError(f"chunk_ms must be > 0, got {chunk_ms}")
    size = max(1, round(chunk_ms * SAMPLE_RATE / 1000)) * SAMPLE_WIDTH
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def encode_pcm16(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def decode_pcm16(delta: str) -> bytes:
    """The PCM16 bytes of one base64 audio delta; a clear error when it is not that."""
    try:
        pcm = base64.b64decode(delta, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioFormatError(f"audio delta is not valid base64: {exc}") from None
    if len(pcm) % SAMPLE_WIDTH:
        raise AudioFormatError(f"audio delta is {len(pcm)} bytes: not a whole number of PCM16 samples")
    return pcm


@dataclass(slots=True)
class ResponseAudio:
    """What one response brought to the player."""

    response_id: str
    chunks: int = 0
    samples: int = 0
    transcript: str = ""
    status: str | None = None  # response.done's status, DROPPED when cut off, None while in progress
    underruns: int = 0
    gap_ms: float = 0.0

    @property
    def audio_ms(self) -> float:
        return samples_ms(self.samples)

    @property
    def playable(self) -> bool:
        return self.samples > 0

    @property
    def finished(self) -> bool:
        return self.status not in (None, DROPPED)

    @property
    def silent(self) -> bool:
        """Finished with words but nothing to hear: the "audio chunks that never play" symptom."""
        return self.finished and bool(self.transcript) and not self.playable


@dataclass(slots=True)
class PlaybackTimeline:
    """The jitter buffer as accounting: times are seconds on the caller's (scenario) clock."""

    jitter_buffer_ms: float = JITTER_BUFFER_MS
    lead_ms: float = LEAD_MS
    chunks: int = 0
    samples: int = 0
    empty_chunks: int = 0
    invalid_chunks: int = 0
    underruns: int = 0
    gap_ms: float = 0.0
    late_chunks: int = 0  # audio for a response that had already finished: the player let it go
    chunks_after_close: int = 0
    samples_after_close: int = 0
    unplayed_ms_at_close: float = 0.0
    closed_at: float | None = None
    tail: float | None = None  # where the scheduled audio ends on the timeline
    primed: bool = False  # False until a response's first chunk is scheduled
    responses: list[ResponseAudio] = field(default_factory=list)  # in the order they started
    _live: dict[str, ResponseAudio] = field(default_factory=dict, repr=False)  # not finished yet

    def response(self, response_id: str) -> ResponseAudio:
        """The live response with this id, or a new one (ids need not be unique across connections)."""
        if response_id not in self._live:
            self._live[response_id] = ResponseAudio(response_id)
            self.responses.append(self._live[response_id])
        return self._live[response_id]

    def start_response(self, response_id: str) -> ResponseAudio:
        """A new response: playback primes the jitter buffer again (the seed's timeline reset)."""
        self.primed = False
        return self.response(response_id)

    def schedule(self, response_id: str, delta: str, now: float) -> float | None:
        """Decode one audio delta arriving at ``now`` and schedule it; returns its start time, or
        None when it cannot play (invalid, empty, or after close)."""
        try:
            pcm = decode_pcm16(delta)
        except AudioFormatError:
            self.invalid_chunks += 1
            return None
        n = len(pcm) // SAMPLE_WIDTH
        if self.closed_at is not None:
            self.chunks_after_close += 1
            self.samples_after_close += n
            return None
        if n == 0:
            self.empty_chunks += 1
            return None
        if self._finished(response_id):
            self.late_chunks += 1
            return None
        resp = self.response(response_id)
        primed_at = now + self.jitter_buffer_ms / 1000
        if not self.primed:  # a response's first chunk: prime the buffer, after any audio still queued
            start = max(primed_at, self.tail or 0.0)
            self.primed = True
        elif now + self.lead_ms / 1000 > (self.tail or 0.0):  # ran dry before this chunk came: re-prime
            start = primed_at
            gap = (start - (self.tail or 0.0)) * 1000
            self.underruns += 1
            self.gap_ms += gap
            resp.underruns += 1
            resp.gap_ms += gap
        else:
            start = self.tail or 0.0
        self.tail = start + n / SAMPLE_RATE
        self.chunks += 1
        self.samples += n
        resp.chunks += 1
        resp.samples += n
        return start

    def _finished(self, response_id: str) -> bool:
        return response_id not in self._live and any(r.response_id == response_id for r in self.responses)

    def add_transcript(self, response_id: str, text: str) -> None:
        if not self._finished(response_id):  # words after response.done belong to no answer
            self.response(response_id).transcript += text

    def finish_response(self, response_id: str, status: str | None) -> ResponseAudio:
        resp = self.response(response_id)
        resp.status = status or "completed"
        del self._live[response_id]
        return resp

    def drop_unfinished(self) -> list[ResponseAudio]:
        """The connection went away: responses still in progress will never finish."""
        cut = list(self._live.values())
        for resp in cut:
            resp.status = DROPPED
        self._live.clear()
        self.primed = False
        return cut

    def queued_ms(self, now: float) -> float:
        """Audio scheduled but not yet played at ``now``."""
        return 0.0 if self.tail is None else max(0.0, (self.tail - now) * 1000)

    def close(self, now: float) -> None:
        """The session ended at ``now``: queued audio is cut off, later chunks never play."""
        if self.closed_at is None:
            self.unplayed_ms_at_close = self.queued_ms(now)
            self.closed_at = now

    @property
    def audio_ms(self) -> float:
        return samples_ms(self.samples)

    @property
    def silent_responses(self) -> list[ResponseAudio]:
        return [r for r in self.responses if r.silent]

"""What a realtime voice session did: its connection attempts, responses and audio accounting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .realtime_audio import PlaybackTimeline, ResponseAudio

COMPLETE, GAVE_UP, FAILED = "complete", "gave_up", "error"


@dataclass(frozen=True, slots=True)
class ConnectAttempt:
    """One connection attempt: the wait before it (scenario ms), whether it connected, and what
    ended it (None when the session finished on it)."""

    number: int
    waited_ms: float
    connected: bool
    failure: str | None = None


@dataclass(slots=True)
class RealtimeSessionResult:
    model: str
    outcome: str = ""  # complete | gave_up | error
    attempts: list[ConnectAttempt] = field(default_factory=list)
    input_chunks: int = 0
    input_ms: float = 0.0
    errors: list[str] = field(default_factory=list)
    event_counts: Counter[str] = field(default_factory=Counter)
    playback: PlaybackTimeline = field(default_factory=PlaybackTimeline)

    @property
    def connected_attempts(self) -> int:
        return sum(1 for a in self.attempts if a.connected)

    @property
    def reconnects(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def waits_ms(self) -> list[float]:
        return [round(a.waited_ms, 1) for a in self.attempts[1:]]

    @property
    def responses(self) -> list[ResponseAudio]:
        """Responses that finished (``response.done``), in order; cut-off ones are not among them."""
        return [r for r in self.playback.responses if r.finished]

    @property
    def audio_chunks(self) -> int:
        return sum(r.chunks for r in self.responses)

    @property
    def audio_ms(self) -> float:
        return round(sum(r.audio_ms for r in self.responses), 1)

    @property
    def transcript(self) -> str:
        return "".join(r.transcript for r in self.responses)

    @property
    def silent_responses(self) -> int:
        return len(self.playback.silent_responses)

    def summary(self) -> str:
        p = self.playback
        return (
            f"{self.outcome}: {len(self.attempts)} connection attempt(s), {self.connected_attempts} connected, "
            f"{self.reconnects} reconnect(s); {len(self.responses)} response(s), {self.audio_chunks} audio "
            f"chunk(s), {self.audio_ms:.0f} ms of audio, {p.underruns} underrun(s), {self.silent_responses} "
            f"response(s) without playable audio, {p.late_chunks} late chunk(s), {p.chunks_after_close} "
            "chunk(s) after close"
        )

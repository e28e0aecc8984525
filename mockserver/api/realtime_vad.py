"""Server voice-activity detection for the Realtime fake: audio in, turn events out.

A frame of 10 ms is speech when its RMS level reaches the level the session's ``threshold``
asks for (0.5, the default, is about -34 dBFS: the mock's own voice and any real speech pass,
silence and faint noise do not). Speech starts at the first loud frame (``audio_start_ms`` goes
back ``prefix_padding_ms``, as the real API's includes the padding) and stops once
``silence_duration_ms`` of quiet frames follow (``audio_end_ms`` includes that silence). Times are
milliseconds of all audio appended during the session, as the API counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import realtime_audio as audio

VAD_TYPES = ("server_vad", "semantic_vad")
LEVEL_AT_HALF = 0.02  # the RMS level that threshold 0.5 asks for
VAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "server_vad": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    },
    "semantic_vad": {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    },
}
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "high": 200, "auto": 500}


@dataclass(slots=True)
class Turn:
    """What one append did: speech started (at ms), stopped (at ms), or both."""

    started_ms: int | None = None
    stopped_ms: int | None = None


class Detector:
    def __init__(self) -> None:
        self.total_ms = 0.0  # all audio appended so far
        self.rest = b""  # the bytes of a frame not yet whole
        self.speaking = False
        self.quiet_ms = 0.0

    @staticmethod
    def settings(turn_detection: dict[str, Any]) -> tuple[float, int, int]:
        """(level, prefix padding ms, silence ms) of a ``turn_detection`` object."""
        threshold = turn_detection.get("threshold")
        threshold = 0.5 if not isinstance(threshold, (int, float)) else float(threshold)
        padding = turn_detection.get("prefix_padding_ms")
        silence = turn_detection.get("silence_duration_ms")
        if turn_detection.get("type") == "semantic_vad":
            silence = SEMANTIC_SILENCE_MS.get(str(turn_detection.get("eagerness")), 500)
        return (
            LEVEL_AT_HALF * max(threshold, 0.01) / 0.5,
            int(padding) if isinstance(padding, (int, float)) else 300,
            int(silence) if isinstance(silence, (int, float)) else 200,
        )

    def feed(self, pcm: bytes, turn_detection: dict[str, Any] | None) -> list[Turn]:
        """Run the detector over newly appended audio; the turns it saw, in order."""
        data = self.rest + pcm
        whole = len(data) - len(data) % (audio.samples_for_ms(audio.FRAME_MS) * audio.SAMPLE_BYTES)
        self.rest = data[whole:]
        turns: list[Turn] = []
        if turn_detection is None or turn_detection.get("type") not in VAD_TYPES:
            self.total_ms += audio.ms_of(data[:whole])
            return turns
        level, padding, silence = self.settings(turn_detection)
        for frame in audio.frame_levels(data[:whole]):
            start = self.total_ms
            self.total_ms += audio.FRAME_MS
            if not self.speaking:
                if frame >= level:
                    self.speaking, self.quiet_ms = True, 0.0
                    turns.append(Turn(started_ms=int(max(0.0, start - padding))))
                continue
            self.quiet_ms = 0.0 if frame >= level else self.quiet_ms + audio.FRAME_MS
            if self.quiet_ms >= silence:
                self.speaking = False
                if turns and turns[-1].stopped_ms is None:
                    turns[-1].stopped_ms = int(self.total_ms)
                else:
                    turns.append(Turn(stopped_ms=int(self.total_ms)))
        return turns

    def reset(self) -> None:
        """The buffer was committed or cleared by the client: any speech in it is over."""
        self.speaking, self.quiet_ms = False, 0.0

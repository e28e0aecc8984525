"""Audio for the Realtime API fake: PCM16, 24 kHz, mono, little-endian, as the real API sends it.

The waveform is real and deterministic: each spoken token is a short voiced tone (a fundamental
and two harmonics, pitch and loudness drawn from the seed), so a client that plays it hears
something and a test can check sample counts, rate and non-silence.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array

from ..content import rng_for

SAMPLE_RATE = 24_000
SAMPLE_BYTES = 2  # PCM16
MS_PER_TOKEN = 300  # how long one spoken token lasts
CHUNK_MS = 100  # audio per response.output_audio.delta (4 800 bytes, like the real API's)
AUDIO_MS_PER_TOKEN = 50  # usage: audio tokens per millisecond of audio, as billed


def samples_for_ms(ms: float) -> int:
    return int(SAMPLE_RATE * ms / 1000)


def ms_of(pcm: bytes) -> float:
    return len(pcm) / SAMPLE_BYTES * 1000 / SAMPLE_RATE


def audio_tokens(ms: float) -> int:
    return math.ceil(ms / AUDIO_MS_PER_TOKEN) if ms > 0 else 0


def _one_cycle(period: int, amplitude: float) -> array:
    """One period of a voiced tone: fundamental plus two weaker harmonics."""
    out = array("h")
    for i in range(period):
        x = 2 * math.pi * i / period
        v = math.sin(x) + 0.5 * math.sin(2 * x) + 0.25 * math.sin(3 * x)
        out.append(int(max(-32767, min(32767, amplitude * v / 1.75))))
    return out


def spoken_token(seed: int, key: object, n_samples: int) -> bytes:
    """``n_samples`` of one token's tone, with a short silence at its end between words."""
    rng = rng_for(seed, "audio", key)
    period = rng.randint(SAMPLE_RATE // 240, SAMPLE_RATE // 110)  # 110 Hz .. 240 Hz
    amplitude = rng.uniform(6_000, 14_000)
    gap = min(n_samples, samples_for_ms(30))
    voiced = n_samples - gap
    cycle = _one_cycle(period, amplitude)
    wave = cycle * (voiced // period + 1)
    del wave[voiced:]
    wave.extend([0] * gap)
    if sys.byteorder == "big":
        wave.byteswap()
    return wave.tobytes()


def speech(seed: int, key: object, n_tokens: int) -> list[bytes]:
    """PCM16 audio for ``n_tokens`` spoken tokens, one bytes object per token."""
    n = samples_for_ms(MS_PER_TOKEN)
    return [spoken_token(seed, (key, i), n) for i in range(n_tokens)]


def chunks(pcm: bytes, chunk_ms: float = CHUNK_MS) -> list[bytes]:
    """Split audio into delta-sized pieces (the last one may be shorter)."""
    size = samples_for_ms(chunk_ms) * SAMPLE_BYTES
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def decode_b64(text: str) -> bytes:
    """Decode a client's base64 audio; raises ValueError when it is not valid base64 PCM16."""
    try:
        pcm = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("Invalid 'audio'. Expected base64-encoded audio data.") from exc
    if len(pcm) % SAMPLE_BYTES:
        raise ValueError("Invalid 'audio'. Expected PCM16 audio (an even number of bytes).")
    return pcm


FRAME_MS = 10  # the voice-activity detector's step


def frame_levels(pcm: bytes) -> list[float]:
    """The RMS level (0 … 1 of full scale) of each whole ``FRAME_MS`` frame of PCM16 audio."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES])
    if sys.byteorder == "big":
        samples.byteswap()
    n = samples_for_ms(FRAME_MS)
    return [
        math.sqrt(sum(x * x for x in samples[i : i + n]) / n) / 32768
        for i in range(0, len(samples) - n + 1, n)
    ]

"""The one scenario schema (placeholder: extended by the scenario engine)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ResponseSpec:
    """What the fake says and how fast: a scenario's ``response:`` block."""

    text: str | None = None  # exact text; None: generated from the seed and the request
    tokens: int = 20  # length of generated text, in tokens
    ttft_ms: float = 0.0  # before the first content event
    inter_token_ms: float = 0.0  # between content events

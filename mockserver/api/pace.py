"""How fast and how long a model's answer is when no scenario says.

A scenario's ``response:`` block sets the timing of every request it matches (zeros: at once,
as the mock always did). With no scenario in play:

- a **background** Responses job runs at a model's pace: queued for ``QUEUE_MS``, its first
  token ``TTFT_MS`` after it starts, then ``TOKENS_PER_S`` tokens a second, so a client can watch
  it go queued → in_progress → completed, and cancel it part-way;
- a **foreground** request answers at once, as before, unless it sends ``X-Mock-Pace: model``
  (the same TTFT and tokens a second, no queue); ``X-Mock-Pace: none`` makes a background job
  instant again;
- a prompt that asks for something long (an essay, "in detail", "500 words") gets a long answer,
  which ``max_output_tokens`` cuts where it would cut a model's (``incomplete``).

Every wait is in scenario ms, so ``--time-scale`` and ``X-Mock-Time-Scale`` shrink it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .. import errors
from ..scenario.specs import ResponseSpec

PACE_HEADER = "X-Mock-Pace"
PACES = ("model", "none")
QUEUE_MS = 500.0  # a background job's time in the queue
TTFT_MS = 500.0  # from the start of work to the first token
TOKENS_PER_S = 60.0
DEFAULT_TOKENS = ResponseSpec().tokens
LONG_TOKENS = 1500  # an essay
VERY_LONG_TOKENS = 3000
MAX_TOKENS = 8000  # "write 100000 words" gets this many

_LONG = re.compile(
    r"\b(long|lengthy|essay|article|report|in detail|detailed|in depth|in-depth|comprehensive|thorough)\b",
    re.IGNORECASE,
)
_VERY = re.compile(r"\b(very|really|extremely|super)\s+(long|lengthy|detailed)\b", re.IGNORECASE)
_WORDS = re.compile(r"\b(\d{2,6})[ -](words?|tokens?)\b", re.IGNORECASE)


@dataclass(slots=True, frozen=True)
class Pace:
    spec: ResponseSpec  # what to say and how fast, TTFT counted from the request
    queue_ms: float | None = None  # a background job's queue time (None: half the TTFT)


def pace_of(header: str | None) -> str | None:
    if header is None:
        return None
    value = header.strip().lower()
    if value not in PACES:
        raise errors.ApiError(
            400,
            f"Invalid {PACE_HEADER} header: expected 'model' or 'none', got {header!r}.",
            param=PACE_HEADER,
            code="invalid_value",
        )
    return value


def wanted_tokens(prompt: str, default: int = DEFAULT_TOKENS) -> int:
    """How many tokens a model would write for ``prompt``; a ``max_output_tokens`` below that
    cuts the answer there (status ``incomplete``), as it cuts a real model's."""
    words = _WORDS.search(prompt)
    if words:
        n = int(words.group(1))
        wanted = n if words.group(2).lower().startswith("token") else round(n * 4 / 3)
    elif _VERY.search(prompt):
        wanted = VERY_LONG_TOKENS
    elif _LONG.search(prompt):
        wanted = LONG_TOKENS
    else:
        return default
    return min(wanted, MAX_TOKENS)


def responses_pace(
    spec: ResponseSpec,
    scenario_applies: bool,
    background: bool,
    prompt: str,
    header: str | None,
) -> Pace:
    """The timing and length of one Responses request (see the module's docstring)."""
    if scenario_applies:
        return Pace(spec)
    chosen = pace_of(header)
    if spec.text is None:
        spec = replace(spec, tokens=wanted_tokens(prompt, spec.tokens))
    if chosen == "none" or (chosen is None and not background):
        return Pace(spec)
    queue = QUEUE_MS if background else 0.0
    spec = replace(spec, ttft_ms=queue + TTFT_MS, inter_token_ms=1000.0 / TOKENS_PER_S)
    return Pace(spec, queue_ms=queue)


def chat_pace(spec: ResponseSpec, scenario_applies: bool, header: str | None) -> ResponseSpec:
    """Chat Completions is always foreground: the model's pace only when asked for."""
    if scenario_applies or pace_of(header) != "model":
        return spec
    return replace(spec, ttft_ms=TTFT_MS, inter_token_ms=1000.0 / TOKENS_PER_S)

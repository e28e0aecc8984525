"""Deterministic content: text, token counts and ids from a seed and the request.

The same (seed, request) always gives the same words, so a replay is byte-for-byte the same.
A "token" here is a word with its leading space: one streamed delta per token, and usage
counts the same tokens, so what was streamed and what usage says always agree.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from typing import Any

WORDS = (
    "the stream of tokens arrives in order and each one carries a small piece of the answer "
    "while the client measures time to first token and the gateway keeps its heartbeat "
    "steady through proxies buffers retries and the occasional dropped connection so "
    "that every user sees a complete reply with usage counted honestly at the end "
    "models answer questions about images code data weather travel music science history "
    "and many other things in a calm clear voice one word after another"
).split()

_TOKEN_RE = re.compile(r"\s*\S+|\s+$")


def rng_for(seed: int, *parts: Any) -> random.Random:
    """A private random generator keyed by the seed and any request parts."""
    h = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


@functools.lru_cache(maxsize=256)
def generate_text(seed: int, key: Any, n_tokens: int = 20) -> str:
    """The words for (seed, key): pure, so a repeated prompt (a load run's) is looked up, not
    drawn again (seeding a generator per request was ~8 % of a zero-delay stream's CPU)."""
    rng = rng_for(seed, "text", key)
    words = [rng.choice(WORDS) for _ in range(max(1, n_tokens))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def tokenize(text: str) -> list[str]:
    """Split text into the pieces streamed one per delta; ``"".join(tokenize(t)) == t``."""
    return list(_tokens(text)) if text else []


@functools.lru_cache(maxsize=256)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall(text))


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text)) if text else 0  # prompts: not cached (they can be large)


def new_id(prefix: str, seed: int, *parts: Any, length: int = 24) -> str:
    digest = hashlib.sha256(repr((seed, prefix, *parts)).encode()).hexdigest()
    return f"{prefix}{digest[:length]}"


def random_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}{random.getrandbits(length * 4):0{length}x}"


def text_of(content: Any) -> str:
    """The text of a message's content (a string, or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict):
                for k in ("text", "input_text", "output_text", "refusal"):
                    if isinstance(part.get(k), str):
                        out.append(part[k])
            elif isinstance(part, str):
                out.append(part)
        return " ".join(out)
    return ""

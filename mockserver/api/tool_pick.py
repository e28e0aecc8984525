"""Which function the model calls on its own (``tool_choice: "auto"``, or no ``tool_choice``
with tools given): one rule for Chat Completions, Responses and Realtime, simple enough for a test
author to predict.

The model calls the first function, in the order of ``tools``, whose name the last user message
mentions: a word of the name (``get_weather``, ``getWeather``, ``get-weather`` → "weather"; the
verbs every tool starts with — get, set, fetch, lookup, find, do, run, call — left out unless the
name has no other word) appears in the message as a word, ignoring case and a plural "s"
("What's the weather in Paris?", "Any flights to Rome?" for ``search_flight``). Otherwise, and
always when the conversation ends with a tool's result rather than with the user, it answers in
text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

GENERIC_VERBS = frozenset({"get", "set", "fetch", "lookup", "find", "do", "run", "call"})
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def name_words(name: str) -> list[str]:
    """``get_weather`` / ``getWeather`` → ["weather"]; ``run`` → ["run"]."""
    words = _WORD.findall(_CAMEL.sub(r"\1 \2", name).lower())
    return [w for w in words if w not in GENERIC_VERBS] or words


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def mentioned(name: str, words: Iterable[str]) -> bool:
    said = {_stem(w) for w in words}
    return any(_stem(w) in said for w in name_words(name))


def auto_pick(functions: Sequence[dict[str, Any]], name_of: Any, message: str) -> dict[str, Any] | None:
    """The first of ``functions`` (``name_of(f)`` gives its name) that ``message`` mentions."""
    words = _WORD.findall(message.lower())
    return next((f for f in functions if mentioned(name_of(f), words)), None)

"""Per-request context, set by the middleware and read by handlers, faults and delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .journal import JournalEntry


@dataclass(slots=True)
class RequestContext:
    request_id: str
    session: str
    scenario: str | None  # selected scenario name (header, path prefix or server default)
    entry: JournalEntry
    t0: float  # monotonic seconds at arrival
    seed: int = 0
    attempt: int = 0
    # the clock every wait of this request runs on: the server's, or the one with the time scale
    # the request asked for (X-Mock-Time-Scale); chosen once, by the middleware
    clock: Clock | None = None
    extra: dict[str, Any] = field(default_factory=dict)

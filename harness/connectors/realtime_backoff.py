"""When the realtime client may connect again: exponential backoff with jitter and a cap on attempts.

The exponential part is the connectors' one :class:`~harness.connectors.backoff.Backoff`; this adds
jitter (so many clients dropped at once do not come back in lockstep) and counts connection
attempts, the first one included, so a session that is always dropped gives up instead of looping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .backoff import Backoff


@dataclass(slots=True)
class ReconnectPolicy:
    """Wait before attempt ``n`` (n >= 2): ``Backoff.delay_ms(n - 1)`` scaled by a random factor in
    ``[1 - jitter, 1]``; at most ``backoff.max_retries + 1`` attempts in all. Times in ms."""

    backoff: Backoff = field(default_factory=lambda: Backoff(initial_ms=500.0, max_ms=8000.0, max_retries=4))
    jitter: float = 0.2
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")
        self._rng = random.Random(self.seed)

    @classmethod
    def of(
        cls,
        *,
        initial_ms: float = 500.0,
        max_ms: float = 8000.0,
        max_attempts: int = 5,
        multiplier: float = 2.0,
        jitter: float = 0.2,
        seed: int | None = None,
    ) -> ReconnectPolicy:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        backoff = Backoff(
            initial_ms=initial_ms, multiplier=multiplier, max_ms=max_ms, max_retries=max_attempts - 1
        )
        return cls(backoff, jitter=jitter, seed=seed)

    @property
    def max_attempts(self) -> int:
        return self.backoff.max_retries + 1

    def allows(self, attempt: int) -> bool:
        """Whether connection attempt ``attempt`` (1-based) may be made."""
        return 1 <= attempt <= self.max_attempts

    def delay_ms(self, attempt: int) -> float:
        """The wait before connection attempt ``attempt``: 0 for the first, jittered backoff after."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if attempt == 1:
            return 0.0
        return self.backoff.delay_ms(attempt - 1) * (1.0 - self.jitter * self._rng.random())

"""The scenario engine: which step a request gets, and applying that step's faults to a Reply.

Attempts are counted per (scenario, session), and only requests the scenario's ``match``
accepts count; others get plain behaviour (attempt 0, no faults). Attempt n gets the n-th item
of ``attempts``, later attempts get ``then``; the scenario's ``faults`` apply on top to every
matching request.

``probability`` is decided by a generator seeded with (server seed, scenario, session,
attempt, fault position), so the same run repeats exactly. ``window`` is measured in scenario
milliseconds from the scenario's first matching request in that session (on the server's
clock, so ``--time-scale`` shrinks windows too); ``reset`` starts it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..content import rng_for
from ..context import RequestContext
from ..reply import Reply
from .faults import Fault, FaultContext, build_all
from .ratelimit import RateLimits
from .specs import ResponseSpec, Scenario, StepSpec

PLAIN = ResponseSpec()


@dataclass(slots=True)
class Step:
    attempt: int
    response: ResponseSpec
    faults: list[Fault] = field(default_factory=list)
    context: FaultContext | None = None  # what the faults see (set when there are faults)


@dataclass(slots=True)
class _Compiled:
    """A scenario with its faults built once at load time."""

    scenario: Scenario
    attempts: list[list[Fault]]
    then: list[Fault]
    always: list[Fault]
    responses: list[ResponseSpec]
    then_response: ResponseSpec

    @classmethod
    def of(cls, sc: Scenario) -> _Compiled:
        def faults(step: StepSpec) -> list[Fault]:
            return build_all(step.faults)

        always = build_all(sc.faults, start=1000)
        return cls(
            scenario=sc,
            attempts=[faults(s) for s in sc.attempts],
            then=faults(sc.then),
            always=always,
            responses=[sc.response.merged(s.response) for s in sc.attempts],
            then_response=sc.response.merged(sc.then.response),
        )

    def for_attempt(self, n: int) -> tuple[list[Fault], ResponseSpec]:
        if n <= len(self.attempts):
            return self.attempts[n - 1], self.responses[n - 1]
        return self.then, self.then_response


class Attempts:
    """Attempt counters per (scenario, session), with when each key's first attempt came."""

    def __init__(self, max_keys: int = 50_000) -> None:
        # bounded like the journal's sessions: the least recently counted key goes first
        self._attempts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._started: dict[tuple[str, str], float] = {}
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def next(self, key: tuple[str, str], now: float) -> tuple[int, float]:
        """Count one more attempt of ``key``: (its number, when the first one came)."""
        with self._lock:
            n = self._attempts[key] = self._attempts.get(key, 0) + 1
            self._attempts.move_to_end(key)
            if len(self._attempts) > self._max_keys:
                old, _ = self._attempts.popitem(last=False)
                self._started.pop(old, None)
            return n, self._started.setdefault(key, now)

    def get(self, key: tuple[str, str]) -> int:
        with self._lock:
            return self._attempts.get(key, 0)

    def reset(self, session: str | None) -> None:
        with self._lock:
            if session is None:
                self._attempts.clear()
                self._started.clear()
            else:
                for store in (self._attempts, self._started):
                    for key in [k for k in store if k[1] == session]:
                        del store[key]


class SharedAttempts(Attempts):
    """The counters of ``serve --workers N``, in the shared database (one upsert per attempt)."""

    def __init__(self, db: Any) -> None:
        super().__init__()
        self.db = db

    def next(self, key: tuple[str, str], now: float) -> tuple[int, float]:
        return self.db.next_attempt(key[0], key[1], now)

    def get(self, key: tuple[str, str]) -> int:
        return self.db.attempts(key[0], key[1])

    def reset(self, session: str | None) -> None:
        self.db.reset_attempts(session)


class ScenarioEngine:
    def __init__(
        self,
        scenarios: dict[str, Scenario] | None = None,
        default: str | None = None,
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.scenarios: dict[str, Scenario] = dict(scenarios or {})
        self._compiled = {name: _Compiled.of(sc) for name, sc in self.scenarios.items()}
        self.default = default
        self.seed = seed
        self.clock = clock or Clock()
        self.limits = RateLimits()
        self.counters = Attempts()

    def use_clock(self, clock: Clock) -> None:
        """Measure windows and rate-limit refills on the server's clock (and its time scale)."""
        self.clock = clock

    def share(self, db: Any) -> None:
        """Keep attempt counters and rate-limit buckets in the workers' shared database."""
        from .ratelimit import SharedRateLimits

        self.counters = SharedAttempts(db)
        self.limits = SharedRateLimits(db)

    def names(self) -> list[str]:
        return sorted(self.scenarios)

    def has(self, name: str) -> bool:
        return name in self.scenarios

    def replays(self, name: str | None) -> bool:
        """Whether scenario ``name`` answers from a recording (then any model is known)."""
        compiled = self._compiled.get(name) if name else None
        return compiled is not None and any(
            r.replay is not None for r in (*compiled.responses, compiled.then_response)
        )

    def summaries(self) -> list[dict]:
        return [self.scenarios[n].summary() for n in self.names()]

    def attempts(self, scenario: str, session: str) -> int:
        return self.counters.get((scenario, session))

    def step(self, ctx: RequestContext, endpoint: str, stream: bool, model: str | None) -> Step:
        compiled = self._compiled.get(ctx.scenario) if ctx.scenario else None
        if compiled is None or not compiled.scenario.match.matches(endpoint, stream, model):
            return Step(attempt=0, response=PLAIN)
        key = (compiled.scenario.name, ctx.session)
        now = self.clock.monotonic()
        n, started = self.counters.next(key, now)
        faults, response = compiled.for_attempt(n)
        candidates = faults + compiled.always if compiled.always else faults
        if not candidates:
            return Step(attempt=n, response=response)
        elapsed_ms = self.clock.scenario_ms(now - started)
        firing = []
        for fault in candidates:
            rng = rng_for(self.seed, "fires", key, n, fault.index)
            if fault.fires(rng, elapsed_ms):
                firing.append(fault)
        if len(firing) > 1 and compiled.always and faults:
            firing.sort(key=lambda f: f.order)
        fc = FaultContext(
            rng=rng_for(self.seed, "fault", key, n),
            key=key,
            now_ms=self.clock.scenario_ms(now),
            limits=self.limits,
        )
        return Step(attempt=n, response=response, faults=firing, context=fc)

    def apply(self, step: Step, reply: Reply, ctx: RequestContext) -> Reply:
        if not step.faults:
            return reply
        fc = step.context
        assert fc is not None
        names = list(reply.faults)
        for fault in step.faults:
            reply = fault.apply(reply, fc)
            names.append(fault.name)
        reply.faults = names
        return reply

    def reset(self, session: str | None = None) -> None:
        self.counters.reset(session)
        self.limits.reset(session)

"""Run one scenario: start the mock with it, drive the stack, read the journal, judge ``expect``."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mockserver.config import MockConfig
from mockserver.web_app import JOURNAL
from mockserver.web_runner import MockServer

from . import DEFAULT_TIME_SCALE  # the package's constant, re-exported here
from .context import RunContext, StackRun
from .drivers import driver_for, error_text
from .expect import Check, evaluate
from .scenario_file import ScenarioFile, ScenarioFileError, load
from .wire import wire_facts

SETTLE_S = 2.0  # how long to wait for the mock to finish journalling requests the stack left


@dataclass(slots=True)
class ReproResult:
    scenario: ScenarioFile
    time_scale: float
    journal: list[dict[str, Any]]
    stack: StackRun
    checks: list[Check]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def report_text(self) -> str:
        from .report import report_text

        return report_text(self)


def _journal(mock: MockServer) -> list[dict[str, Any]]:
    """The mock's journal once every request has ended (or ``SETTLE_S`` has passed)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        entries = mock.call(lambda: [e.to_dict() for e in mock.app[JOURNAL].entries()])
        if all(e.get("ended") for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.01)


async def _drive(ctx: RunContext) -> StackRun:
    driver = driver_for(ctx.scenario.drive)
    try:
        return await driver(ctx)
    except ScenarioFileError:
        raise  # the scenario's stack block is wrong: say so, do not judge
    except Exception as exc:  # the stack blew up: that is an observation, judged like any other
        return _crashed(ctx, exc)


def _crashed(ctx: RunContext, exc: BaseException) -> StackRun:
    section = "connector" if ctx.scenario.drive in ("txt2img", "img2img") else ctx.scenario.drive
    text = error_text(exc)
    return StackRun({section: {"outcome": "crashed", "error": text}}, [f"the stack raised {text}"])


def _run_coroutine(coro: Any) -> Any:
    """``asyncio.run``, also from code that already runs an event loop (then on a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="repro") as pool:
        return pool.submit(asyncio.run, coro).result()


def run_scenario(path_or_name: str, *, time_scale: float = DEFAULT_TIME_SCALE, seed: int = 0) -> ReproResult:
    """Reproduce one scenario against the reference stack and judge its ``expect`` block.

    Raises :class:`~harness.repro.scenario_file.ScenarioFileError` when the scenario cannot be
    found or is invalid; every other failure is part of the result.
    """
    if time_scale <= 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale}")
    scenario = load(path_or_name)
    config = MockConfig(
        port=0,
        scenario_paths=[str(scenario.path)],
        default_scenario=scenario.name,
        time_scale=time_scale,
        seed=seed,
    )
    t0 = time.perf_counter()
    with MockServer(config) as mock:
        stack = _run_coroutine(_drive(RunContext(scenario, mock, time_scale)))
        journal = _journal(mock)
    facts = {"wire": wire_facts(journal), **stack.facts}
    checks = evaluate(scenario.expect, facts)
    return ReproResult(scenario, time_scale, journal, stack, checks, time.perf_counter() - t0)

"""Drivers: each drives one part of the reference stack against the mock and collects facts.

A driver is ``async def run(ctx: RunContext) -> StackRun``; :data:`DRIVERS` maps ``stack.drive``
to the module that holds it, imported only when a scenario asks for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from mockserver.web_app import JOURNAL

from ..context import RunContext, StackRun

Driver = Callable[[RunContext], Awaitable[StackRun]]

DRIVERS: dict[str, str] = {
    "sdk": "sdk",
    "gateway": "gateway",
    "txt2img": "image",
    "img2img": "image",
    "registry": "registry",
    "health": "health",
    "stream": "stream",
    "realtime": "realtime",
}


def driver_for(drive: str) -> Driver:
    module = importlib.import_module(f"{__name__}.{DRIVERS[drive]}")
    return module.run


def error_text(exc: BaseException) -> str:
    """``openai.RateLimitError: Error code: 429 - ...`` : how a traceback's last line names it."""
    kind = type(exc)
    module = kind.__module__.split(".")[0]
    name = f"{module}.{kind.__name__}" if module not in ("builtins", "__main__") else kind.__name__
    return f"{name}: {exc}"


def journal_entries(ctx: RunContext) -> list[dict[str, Any]]:
    """The mock's journal as it stands (requests still running included)."""
    return ctx.mock.call(lambda: [e.to_dict() for e in ctx.mock.app[JOURNAL].entries()])


def retry_facts(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Retries a client made and how long it waited before each, from the mock's journal. Pure.

    A retry is a request sent with ``x-stainless-retry-count`` > 0; its wait runs from the
    previous request's arrival to its own, in real milliseconds (retry-after headers go out as
    written and clients obey them in real time, whatever the mock's time scale).
    """
    waits = [
        round((later["received_at"] - earlier["received_at"]) * 1000.0, 1)
        for earlier, later in zip(entries, entries[1:], strict=False)
        if (later.get("retry_count") or 0) > 0
    ]
    return {
        "retries": sum(1 for e in entries if (e.get("retry_count") or 0) > 0),
        "retry_waits_ms": waits,
        "min_retry_wait_ms": min(waits) if waits else None,
    }

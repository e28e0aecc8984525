"""Runners: each drives one part of the reference stack against the mock and collects facts.

A runner is ``async def run(ctx: RunContext) -> StackRun``; :data:`DRIVERS` maps ``stack.drive``
to the module that holds it, imported only when a scenario asks for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from ..context import RunContext, StackRun

Runner = Callable[[RunContext], Awaitable[StackRun]]

DRIVERS: dict[str, str] = {
    "sdk": "sdk",
    "gateway": "gateway",
    "txt2img": "image",
    "img2img": "image",
    "registry": "registry",
    "health": "health",
    "stream": "stream",
}


def runner_for(drive: str) -> Runner:
    module = importlib.import_module(f"{__name__}.{DRIVERS[drive]}")
    return module.run


def error_text(exc: BaseException) -> str:
    """``openai.RateLimitError: Error code: 429 - ...`` : how a traceback's last line names it."""
    kind = type(exc)
    module = kind.__module__.split(".")[0]
    name = f"{module}.{kind.__name__}" if module not in ("builtins", "__main__") else kind.__name__
    return f"{name}: {exc}"

"""The event loop the servers run on: uvloop when it is installed, else asyncio's own.

uvloop roughly halves the cost of each socket write and loop turn, which is most of what an SSE
server does. ``MOCKOPENAI_LOOP=asyncio`` forces the standard loop (to compare, or to debug).
"""

from __future__ import annotations

import asyncio
import os


def loop_kind() -> str:
    if os.environ.get("MOCKOPENAI_LOOP", "auto").lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def new_event_loop() -> asyncio.AbstractEventLoop:
    if loop_kind() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()

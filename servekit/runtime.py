"""How a server process runs: its event loop, and its heap once started.

- The loop is uvloop when it is installed, else asyncio's own: uvloop roughly halves the cost of
  each socket write and loop turn, which is most of what an SSE server does.
  ``MOCKOPENAI_LOOP=asyncio`` forces the standard loop (to compare, or to debug).
- :func:`settle_heap` moves everything allocated at start-up (modules, the SDK's and pydantic's
  types: ~100k objects in the gateway) out of the garbage collector's reach. Without it each full
  collection rescans them all and stalls the loop for tens of milliseconds, which showed as late
  heartbeats and a long TTFT tail under load.
"""

from __future__ import annotations

import asyncio
import gc
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


def settle_heap() -> None:
    """Call once start-up is done, in a server process (never in a test process)."""
    gc.collect()
    gc.freeze()

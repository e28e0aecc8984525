"""An aiohttp app on a port, in a background thread with its own event loop: usable from sync and
async code (tests, the pytest plugin, ``harness repro``), started and stopped in one line."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiohttp import web

from .runtime import new_event_loop

BACKLOG = 2048  # 500+ clients connecting at once must not overflow the listen queue (128)
# A connection that has not sent a whole request within this long is closed: a client that
# dribbles its headers byte by byte cannot hold a file descriptor for good (aiohttp's idle
# keep-alive timer, which also runs until the first request is complete, defaults to an hour).
# Longer than any client pool keeps an idle connection (httpx 5 s, aiohttp 15 s, the gateway 30 s).
HEADER_TIMEOUT_S = 60.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


async def start_site(
    app: web.Application,
    host: str,
    port: int,
    reuse_port: bool = False,
    header_timeout_s: float = HEADER_TIMEOUT_S,
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on (host, port); ``reuse_port``: share the port with other processes
    (SO_REUSEPORT: the kernel spreads new connections across them). Returns the bound port."""
    # handler_cancellation: a client that goes away cancels its handler at once, so a stall or a
    # hang is noticed (and an upstream call cancelled) without waiting for the next write.
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=0.5,
        keepalive_timeout=header_timeout_s,
    )
    await runner.setup()
    site = web.TCPSite(
        runner, host, port, backlog=BACKLOG, reuse_address=True, reuse_port=True if reuse_port else None
    )
    await site.start()
    server = site._server  # the bound port, when 0 was asked for
    if port == 0 and server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    return runner, port


class ThreadedServer:
    """``app`` served on ``host``:``port`` (0: a free one) from a thread of its own.

    >>> with ThreadedServer(app) as server:
    ...     urllib.request.urlopen(server.url + "/health")
    """

    def __init__(
        self,
        app: web.Application,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "server",
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.header_timeout_s = header_timeout_s
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self._runner, self.port = self.loop.run_until_complete(
                start_site(self.app, self.host, self.port, header_timeout_s=self.header_timeout_s)
            )
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def start(self) -> ThreadedServer:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop and wait for its result."""

        async def _do() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(_do(), self.loop).result(10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""Running the mock: in the foreground (CLI), in-process on a free port (tests, plugin)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiohttp import web

from .config import MockConfig
from .runtime import new_event_loop
from .web_app import create_app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


async def start_site(
    app: web.Application, host: str, port: int, reuse_port: bool = False
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on (host, port); ``reuse_port``: share the port with the other workers of
    ``serve --workers N`` (SO_REUSEPORT: the kernel spreads new connections across them)."""
    # handler_cancellation: a client that goes away cancels its handler at once, so a stall
    # or a hang is noticed (and journalled as client_gone) without waiting for the next write.
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(
        runner, host, port, backlog=2048, reuse_address=True, reuse_port=True if reuse_port else None
    )
    await site.start()
    server = site._server  # the bound port, when 0 was asked for
    if port == 0 and server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    return runner, port


class MockServer:
    """The mock in a background thread with its own event loop: usable from sync and async code.

    >>> with MockServer(MockConfig(port=0)) as mock:
    ...     client = openai.OpenAI(base_url=mock.base_url, api_key="sk-test")
    """

    def __init__(self, config: MockConfig | None = None, app: web.Application | None = None) -> None:
        self.config = config or MockConfig(port=0)
        self.app = app or create_app(self.config)
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mockopenai", daemon=True)
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._error: BaseException | None = None
        self.port = self.config.port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self._runner, self.port = self.loop.run_until_complete(
                start_site(self.app, self.config.host, self.config.port)
            )
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def start(self) -> MockServer:
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

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

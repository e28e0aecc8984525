"""Running the mock in-process on a free port (tests, the pytest plugin, ``harness repro``); the
thread-and-loop machinery is :mod:`servekit.threaded`, shared with the reference gateway."""

from __future__ import annotations

from aiohttp import web

from servekit.threaded import ThreadedServer, free_port, start_site

from .config import MockConfig
from .web_app import create_app

__all__ = ["MockServer", "free_port", "start_site"]


class MockServer(ThreadedServer):
    """The mock in a background thread with its own event loop: usable from sync and async code.

    >>> with MockServer(MockConfig(port=0)) as mock:
    ...     client = openai.OpenAI(base_url=mock.base_url, api_key="sk-test")
    """

    def __init__(self, config: MockConfig | None = None, app: web.Application | None = None) -> None:
        self.config = config or MockConfig(port=0)
        super().__init__(
            app or create_app(self.config), self.config.host, self.config.port, name="mockopenai"
        )

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> MockServer:
        self.start()
        return self

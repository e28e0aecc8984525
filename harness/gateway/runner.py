"""Running the gateway in-process on a free port (tests, the pytest plugin, ``harness repro``).

The same thread-and-loop machinery as the mock's :class:`~mockserver.web_runner.MockServer`
(handler cancellation on: a client that goes away cancels its handler, and with it the upstream
call, at once).
"""

from __future__ import annotations

from aiohttp import web

from mockserver.config import MockConfig
from mockserver.web_runner import MockServer

from .settings import GatewaySettings
from .web_gateway import create_gateway_app


class GatewayServer(MockServer):
    """>>> with GatewayServer(settings) as gw:
    ...     httpx2.post(gw.url + "/api/v1/chat", ...)
    """

    def __init__(self, settings: GatewaySettings, port: int = 0, app: web.Application | None = None) -> None:
        super().__init__(MockConfig(host=settings.host, port=port), app or create_gateway_app(settings))
        self.settings = settings
        self._thread.name = "gateway"

    @property
    def base_url(self) -> str:
        return self.url

    def __enter__(self) -> GatewayServer:
        self.start()
        return self

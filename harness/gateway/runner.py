"""Running the gateway in-process on a free port (tests, the pytest plugin, ``harness repro``),
on the same thread-and-loop machinery as the mock (:mod:`servekit.threaded`), which the gateway
shares with it without knowing it: handler cancellation on, so a client that goes away cancels
its handler, and with it the upstream call, at once.
"""

from __future__ import annotations

from aiohttp import web

from servekit.threaded import ThreadedServer

from .settings import GatewaySettings
from .web_gateway import create_gateway_app


class GatewayServer(ThreadedServer):
    """>>> with GatewayServer(settings) as gw:
    ...     httpx2.post(gw.url + "/api/v1/chat", ...)
    """

    def __init__(self, settings: GatewaySettings, port: int = 0, app: web.Application | None = None) -> None:
        super().__init__(app or create_gateway_app(settings), settings.host, port, name="gateway")
        self.settings = settings

    @property
    def base_url(self) -> str:
        return self.url

    def __enter__(self) -> GatewayServer:
        self.start()
        return self

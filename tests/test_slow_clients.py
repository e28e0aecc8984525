"""A client that dribbles its request headers cannot hold a connection for good: the servers
close a connection that has not sent a whole request in time (60 s by default)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from servekit.threaded import BACKLOG, HEADER_TIMEOUT_S, ThreadedServer


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def app() -> web.Application:
    application = web.Application()
    application.router.add_get("/", hello)
    return application


async def test_headers_that_never_finish_are_cut_off():
    with ThreadedServer(app(), header_timeout_s=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        for _ in range(30):  # a byte every 50 ms, as a slowloris client does
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.05)
            if reader.at_eof():
                break
        closed = await asyncio.wait_for(reader.read(), 2)
        assert time.monotonic() - started < 2 and closed == b""
        writer.close()


async def test_a_whole_request_on_a_kept_alive_connection_is_served_as_usual():
    with ThreadedServer(app(), header_timeout_s=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for _ in range(2):
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 200")
            assert await reader.readexactly(2) == b"ok"
        writer.close()


def test_the_defaults_fit_what_the_project_promises():
    assert BACKLOG >= 500 and 30 < HEADER_TIMEOUT_S <= 120

"""``mockopenai record``: a relay in front of a real upstream that writes what it relays as
scenarios.

Every ``/v1/...`` request goes to the upstream with the client's own headers and key; the answer
comes back unchanged and unbuffered (each chunk is written to the client as it arrives, then
recorded). Each exchange is added to its session's scenario file as soon as it ends:

* a session is the client's ``X-Mock-Session`` header when it sends one (file
  ``<session>.yaml``), else its connection (``rec-<time>-<n>.yaml``), and an SDK's retry
  (``x-stainless-retry-count`` above 0) of the same request joins the recording of the attempt
  it retries, whatever connection it comes on: "429, then the retry that succeeded" is one
  scenario of two attempts; send ``X-Mock-Session`` to split or join recordings your own way;
* a client that goes away cancels the upstream request, and nothing is recorded for it;
* an upstream that cannot be reached gives the client a 502, as a relay would (not recorded).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from ..clock import Clock
from ..delivery import close_transport
from ..scenario.schema import ScenarioError
from ..upstream import (
    CUT,
    UpstreamURL,
    bad_gateway,
    forwarded_headers,
    is_reset,
    request_facts,
    returned_headers,
    secrets_of,
    upstream_client,
    url_secrets,
    without_queries,
)
from .exchange import Exchange
from .scenario_file import Redactor, write

log = logging.getLogger("mockopenai.record")
MAX_SESSIONS = 10_000  # sessions remembered; the least recently used one is forgotten first


@dataclass(slots=True)
class Recording:
    stem: str
    exchanges: list[Exchange] = field(default_factory=list)
    done: set[int] = field(default_factory=set)  # ids of the exchanges that ended
    claimed: bool = False  # its file name is this recorder's (another may write the same folder)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one write of its file at a time


def _retry_count(request: web.Request) -> int:
    """Which retry this is, as the official SDKs say it (openai-python and openai-node both)."""
    value = request.headers.get("x-stainless-retry-count", "0")
    return int(value) if value.isdigit() else 0


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "session"


class Recorder:
    def __init__(self, upstream: UpstreamURL, out: Path, redact: list[str] | tuple[str, ...] = ()) -> None:
        self.upstream = upstream
        self.out = out
        self.redactor = Redactor(redact)
        self.redactor.add_secrets(url_secrets(upstream.base))
        self._sessions: OrderedDict[object, Recording] = OrderedDict()
        self._stems: set[str] = set()
        self._count = itertools.count(1)
        self._started = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.client: aiohttp.ClientSession | None = None

    def _new_stem(self, wanted: str) -> str:
        stem, n = wanted, 1
        while stem in self._stems or (self.out / f"{stem}.yaml").exists():
            n += 1
            stem = f"{wanted}-{n}"
        self._stems.add(stem)
        return stem

    def recording_for(self, request: web.Request, body: bytes = b"") -> Recording:
        session = request.headers.get("X-Mock-Session")
        # a connection by its protocol object itself (held while remembered: no id is reused)
        key: object = ("session", session) if session else ("connection", request.protocol)
        same = ("request", request.method, request.path_qs, hashlib.sha256(body).hexdigest())
        if not session and _retry_count(request) > 0 and same in self._sessions:
            # an SDK's retry (x-stainless-retry-count) of a request it sent before: the same
            # recording, though after a streamed error the SDK retries on a new connection
            key = same
        found = self._sessions.get(key)
        if found is None:
            wanted = _stem(session) if session else f"rec-{self._started}-{next(self._count)}"
            found = self._sessions[key] = Recording(self._new_stem(wanted))
            if len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(key)
        if not session:
            self._sessions[same] = found  # where this request's retries go
            self._sessions.move_to_end(same)
        return found

    def save(self, recording: Recording, finished: list[Exchange]) -> Path:
        """Write the recording's ``finished`` exchanges (on a worker thread: files are written
        and parsed back off the event loop, so other streams through the relay never wait)."""
        while not recording.claimed:  # created exclusively: two recorders never share a file
            self.out.mkdir(parents=True, exist_ok=True)
            try:
                os.close(os.open(self.out / f"{recording.stem}.yaml", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                recording.claimed = True
            except FileExistsError:
                recording.stem = self._new_stem(recording.stem)
        return write(self.out, recording.stem, finished, str(self.upstream), self.redactor)


RECORDER = web.AppKey("recorder", Recorder)


async def relay(request: web.Request) -> web.StreamResponse:
    recorder = request.app[RECORDER]
    assert recorder.client is not None
    body = await request.read()
    recorder.redactor.add_secrets(secrets_of(request))
    recording = recorder.recording_for(request, body)
    ex = Exchange(
        request.method, request.path, request_facts(request.method, request.path, request.content_type, body)
    )
    recording.exchanges.append(ex)
    resp: web.StreamResponse | None = None
    try:
        async with recorder.client.request(
            request.method,
            recorder.upstream.url_for(request),
            headers=forwarded_headers(request),
            data=body if body else None,
            allow_redirects=False,
        ) as up:
            ex.got_headers(up.status, dict(up.headers), Clock.monotonic())
            resp = web.StreamResponse(
                status=up.status, reason=up.reason, headers=returned_headers(up.headers)
            )
            if up.content_length is not None and "content-encoding" not in up.headers:
                resp.content_length = up.content_length
            await resp.prepare(request)
            length, sent, held = resp.content_length, 0, b""
            try:
                async for chunk in up.content.iter_any():
                    now = Clock.monotonic()
                    if length is not None and sent + len(chunk) >= length:
                        # a body of known length: its last bytes wait for the file, so a client
                        # that has the whole answer finds its recording (a stream's end, below)
                        held = chunk
                    else:
                        await resp.write(chunk)  # the client first: recording adds no latency
                    sent += len(chunk)
                    ex.got(chunk, now)
            except CUT as exc:
                how = "reset" if is_reset(exc) else "dropped"
                if held:
                    await resp.write(held)
                await asyncio.shield(_finish(recorder, recording, ex, how))
                close_transport(request, reset=how == "reset")  # the client sees the same cut
                return resp
            # written before the stream's end goes out: a client that has its last byte finds it
            # shielded: a client that leaves once it has its bytes does not unmake the recording
            await asyncio.shield(_finish(recorder, recording, ex, "complete"))
            if held:
                await resp.write(held)
            await resp.write_eof()
            return resp
    except (asyncio.CancelledError, ConnectionResetError) as exc:
        # the client went away: leaving the ``async with`` closed the upstream request
        if id(ex) not in recording.done:  # before its answer was whole (else it is being recorded)
            recording.exchanges.remove(ex)
            log.info(
                "%s %s: the client went away; the upstream request was cancelled",
                request.method,
                request.path,
            )
        if isinstance(exc, asyncio.CancelledError) or resp is None:
            raise
        return resp
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        recording.exchanges.remove(ex)
        log.warning("%s %s: the upstream failed: %s", request.method, request.path, without_queries(str(exc)))
        if resp is not None:  # it failed after its status line: cut the client the same way
            close_transport(request, reset=False)
            return resp
        return bad_gateway(exc, str(recorder.upstream), recorder.redactor.secrets)[1]


async def _finish(recorder: Recorder, recording: Recording, ex: Exchange, how: str) -> None:
    """Record the exchange; one that cannot be kept (an answer no scenario can hold, a disk that
    refuses) is left out with a warning, and the client's answer goes on untouched."""
    ex.ended(how, Clock.monotonic())
    recording.done.add(id(ex))
    try:
        async with recording.lock:
            finished = [e for e in recording.exchanges if id(e) in recording.done]
            path = await asyncio.get_running_loop().run_in_executor(None, recorder.save, recording, finished)
    except (ScenarioError, OSError, ValueError) as exc:
        recording.done.discard(id(ex))
        recording.exchanges.remove(ex)
        claimed = recorder.out / f"{recording.stem}.yaml"
        if recording.claimed and claimed.is_file() and claimed.stat().st_size == 0:
            claimed.unlink()  # nothing of this session was kept: no empty file either
            recording.claimed = False
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("%s %s -> %s: not recorded (%s)", ex.method, ex.path, ex.status, first)
        return
    frames = f", {len(ex.stream.frames)} frames" if ex.stream is not None else ""
    log.info(
        "%s %s -> %s%s%s: %s",
        ex.method,
        ex.path,
        ex.status,
        frames,
        "" if how == "complete" else f", {how}",
        path,
    )


async def _open_client(app: web.Application) -> None:
    app[RECORDER].client = upstream_client()


async def _close_client(app: web.Application) -> None:
    client = app[RECORDER].client
    if client is not None:
        await client.close()


def create_record_app(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[RECORDER] = recorder
    app.on_startup.append(_open_client)
    app.on_cleanup.append(_close_client)
    app.router.add_route("*", "/v1/{tail:.*}", relay)
    app.router.add_route("*", "/v1", relay)
    return app

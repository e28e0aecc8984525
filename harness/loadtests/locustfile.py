"""Locust users for the reference gateway and for the mock, with stream-level measurements.

Three users, run one at a time (name the class on the command line) or side by side:

``GatewayChatUser``
    ``POST /api/v1/chat`` on the reference gateway with a fresh HS256 JWT, reading the SSE
    stream (``token`` / ``usage`` / ``error`` / ``done``).
``GatewayMemoryChatUser``
    The same, with one ``sessionId`` per user and ``useMemory: true``: after a user's first turn,
    the gateway reads the earlier turns before it calls the upstream (TTFT "with memory").
``MockChatUser``
    Streaming ``POST /v1/chat/completions`` straight to the mock (``data:`` chunks, ``[DONE]``).

Besides the request itself, every stream reports three entries of its own: ``TTFT`` (to the first
token, never a comment or heartbeat), ``ITL`` (mean inter-token gap of the stream) and ``TOTAL``.
An in-band error, or a stream that ends without ``done`` / ``[DONE]``, is a failure.

Which host each user talks to: the gateway users ``--gateway-url``, else ``--host``; the mock
user ``--mock-url``, else ``--host`` when it is named on the command line. With no class named,
the gateway users run, and ``MockChatUser`` joins them only when ``--mock-url`` is given (a bare
``--host`` is the gateway's: the mock user would get 404s there). The gateway users sign their
token with ``JWT_SECRET`` (or ``--jwt-secret``), the gateway's own secret. A headless run
with no host, or a gateway user with no secret, stops at once with one line saying what to pass
(exit code 2); a run in which any stream failed exits 1 (Locust's ``--exit-code-on-error``).

Headless, bounded, against a local stack (``harness load`` starts one and runs this for you)::

    locust -f loadtests/locustfile.py --headless -u 20 -r 10 -t 10s --host http://127.0.0.1:3000
    locust -f loadtests/locustfile.py --headless -u 20 -r 10 -t 10s MockChatUser --host http://127.0.0.1:8000
    locust -f loadtests/locustfile.py --headless -u 100 -r 50 -t 15s GatewayChatUser \\
        --gateway-url http://127.0.0.1:3000 --scenario load-brownout-2pct-429 \\
        --results-json reports/load-samples.json

Workers send their stream samples to the master with each stats report, so ``--results-json``
(written by the master, or by the single local process) holds every stream of the run.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.runners import WorkerRunner

from harness.load import stream_watch as sw
from harness.load.samples import LoadSamples
from servekit.sse import SSEReader

SAMPLES = LoadSamples(node=f"{socket.gethostname()}:{os.getpid()}")
SAMPLES_KEY = "stream_samples"
_RUN_SESSION = f"load-{uuid.uuid4().hex[:12]}"  # X-Mock-Session unless --mock-session says otherwise


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--gateway-url",
        default=os.environ.get("GATEWAY_URL", ""),
        help="base URL of the reference gateway (default: --host)",
    )
    parser.add_argument(
        "--mock-url",
        default=os.environ.get("MOCK_URL", ""),
        help="base URL of the mock, without /v1 (default: --host)",
    )
    parser.add_argument("--scenario", default="", help="mock scenario to select (X-Mock-Scenario)")
    parser.add_argument(
        "--mock-session", default="", help="X-Mock-Session for every request (default: one per run)"
    )
    parser.add_argument(
        "--jwt-secret",
        default=os.environ.get("JWT_SECRET", ""),
        include_in_web_ui=False,
        help="HS256 secret the gateway checks (default: $JWT_SECRET)",
    )
    parser.add_argument("--model", default="gpt-4o-mini", help="model the mock-direct user asks for")
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.5,
        help="mean seconds a user waits between streams (uniform, 0.5x..1.5x)",
    )
    parser.add_argument(
        "--stream-timeout",
        type=float,
        default=30.0,
        help="seconds of silence after which a stream is given up",
    )
    parser.add_argument(
        "--results-json",
        default="",
        help="write every stream's samples (TTFT, retries, failures) to this file",
    )


@events.init.add_listener
def _check_setup(environment: Any, runner: Any = None, **_: Any) -> None:
    """Pick the users that have a host, and refuse a run that cannot work, in one line."""
    opts = environment.parsed_options
    if opts is None or isinstance(runner, WorkerRunner):
        return  # used as a library, or a worker (the master checked)
    named = set(getattr(opts, "user_classes", None) or ())
    mock_url = getattr(opts, "mock_url", "")
    if not named and not mock_url:  # a bare --host is the gateway's
        environment.user_classes = [c for c in environment.user_classes if c is not MockChatUser]
    headless = getattr(opts, "headless", False) or getattr(opts, "autostart", False)
    missing = [
        c.__name__
        for c in environment.user_classes
        if not (getattr(opts, c.url_option, "") or environment.host or c.host)
    ]
    if missing and headless:
        _refuse(
            f"no host for {', '.join(missing)}: pass --host http://127.0.0.1:3000 (the gateway;"
            " MockChatUser takes the mock's, e.g. --host http://127.0.0.1:8000), or run `harness load`,"
            " which starts a stack and passes them"
        )
    gateway_users = [c.__name__ for c in environment.user_classes if issubclass(c, GatewayChatUser)]
    if gateway_users and not getattr(opts, "jwt_secret", ""):
        _refuse(
            f"{', '.join(gateway_users)} sign their token with the gateway's secret:"
            " set JWT_SECRET (or pass --jwt-secret) to the value the gateway runs with"
        )


def _refuse(message: str) -> None:
    print(f"locustfile: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


class _StreamUser(FastHttpUser):
    """Shared plumbing: one stream per task, measured with a :class:`StreamWatch`."""

    abstract = True
    protocol = sw.CHAT
    url_option = ""
    label = ""

    def __init__(self, environment: Any) -> None:
        opts = environment.parsed_options
        url = getattr(opts, self.url_option, "") if opts is not None else ""
        if url:
            self.host = url.rstrip("/")
        if opts is not None:
            self.network_timeout = opts.stream_timeout
            self.connection_timeout = opts.stream_timeout
        super().__init__(environment)
        self.opts = opts
        self.session = getattr(opts, "mock_session", "") or _RUN_SESSION

    def wait_time(self) -> float:
        mean = getattr(self.opts, "think_time", 0.5)
        return random.uniform(0.5 * mean, 1.5 * mean)

    def on_start(self) -> None:
        """Arrive at a random moment within one think time. Locust starts each second's batch of
        users at the same instant (``-r 50``: 50 first requests in the same millisecond), which no
        real population of users does; spread out, the first streams measure the system, not a
        burst that only the load generator makes."""
        gevent.sleep(random.uniform(0, getattr(self.opts, "think_time", 0.5)))

    def mock_headers(self) -> dict[str, str]:
        headers = {"X-Mock-Session": self.session, "Accept": "text/event-stream"}
        scenario = getattr(self.opts, "scenario", "")
        if scenario:
            headers["X-Mock-Scenario"] = scenario
        return headers

    def stream(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> sw.StreamOutcome:
        started_at, t0 = time.time(), time.perf_counter()

        def ms() -> float:
            return (time.perf_counter() - t0) * 1000.0

        with self.client.post(
            path, json=body, headers=headers, name=self.label, stream=True, catch_response=True
        ) as resp:
            if resp.status_code != 200:
                detail = f"HTTP {resp.status_code}" if resp.status_code else str(resp.error)
                kind = sw.HTTP_ERROR if resp.status_code else sw.CONNECTION
                _drain(resp)
                outcome = sw.failed(kind, detail, resp.status_code, ms())
            else:
                outcome = self._read(resp, ms)
            resp.request_meta["response_time"] = outcome.total_ms
            if outcome.ok:
                resp.success()
            else:
                resp.failure(outcome.failure)
        self._report(outcome)
        SAMPLES.add(outcome, started_at)
        return outcome

    def _read(self, resp: Any, ms: Any) -> sw.StreamOutcome:
        reader, watch = SSEReader(), sw.StreamWatch(self.protocol)
        raw = resp._response  # the geventhttpclient response: readline() returns as lines arrive
        try:
            while True:
                line = raw.readline(b"\n")
                if not line:
                    break
                for frame in reader.feed(line):
                    watch.feed(frame, ms())
        except Exception as exc:  # a cut connection: the watch says what was missing
            watch.connection_lost(type(exc).__name__)
        finally:
            raw.release()
        return watch.finish(ms(), resp.status_code)

    def _report(self, outcome: sw.StreamOutcome) -> None:
        """The stream's own entries: TTFT, mean inter-token gap (ITL), total time (ok streams)."""
        entries = {
            "TTFT": outcome.ttft_ms,
            "ITL": sum(outcome.gaps_ms) / len(outcome.gaps_ms) if outcome.gaps_ms else None,
            "TOTAL": outcome.total_ms if outcome.ok else None,
        }
        for request_type, value in entries.items():
            if value is not None:
                self.environment.events.request.fire(
                    request_type=request_type,
                    name=self.label,
                    response_time=value,
                    response_length=0,
                    exception=None,
                    context={},
                )


class GatewayChatUser(_StreamUser):
    """A signed-in user of the reference gateway's chat endpoint."""

    protocol = sw.GATEWAY
    url_option = "gateway_url"
    label = "POST /api/v1/chat"

    def on_start(self) -> None:
        from harness.gateway.auth import mint_token

        secret = getattr(self.opts, "jwt_secret", "")  # checked at start-up (_check_setup)
        self.token = mint_token(secret, sub=f"load-{uuid.uuid4().hex[:8]}", ttl_s=3600)
        super().on_start()

    def body(self) -> dict[str, Any]:
        return {"message": "Tell me something short."}

    @task
    def chat(self) -> None:
        headers = {**self.mock_headers(), "Authorization": f"Bearer {self.token}"}
        self.stream("/api/v1/chat", self.body(), headers)


class GatewayMemoryChatUser(GatewayChatUser):
    """A gateway user holding one conversation: its own ``sessionId``, ``useMemory: true``."""

    label = "POST /api/v1/chat (memory)"

    def on_start(self) -> None:
        # imported here: harness.load.memory reads the gateway's telemetry (and so imports the SDK,
        # ~0.7 s), and Locust counts the locustfile's import time into --run-time
        from harness.load.memory import new_session_id

        self.session_id = new_session_id()
        super().on_start()

    def body(self) -> dict[str, Any]:
        return {**super().body(), "sessionId": self.session_id, "useMemory": True}


class MockChatUser(_StreamUser):
    """A client streaming chat completions from the mock directly (no gateway in between)."""

    protocol = sw.CHAT
    url_option = "mock_url"
    label = "POST /v1/chat/completions (stream)"

    @task
    def chat(self) -> None:
        headers = {**self.mock_headers(), "Authorization": "Bearer sk-load"}
        body = {
            "model": getattr(self.opts, "model", "gpt-4o-mini"),
            "stream": True,
            "messages": [{"role": "user", "content": "Tell me something short."}],
        }
        self.stream("/v1/chat/completions", body, headers)


def _drain(resp: Any) -> None:
    raw = resp._response
    if raw is None:
        return
    try:
        raw.read()
    except Exception:
        pass
    finally:
        raw.release()


# --- shipping samples from workers to the master, and writing them out ----------------------


@events.report_to_master.add_listener
def _ship(client_id: str, data: dict[str, Any]) -> None:
    data[SAMPLES_KEY] = SAMPLES.drain()


@events.worker_report.add_listener
def _gather(client_id: str, data: dict[str, Any]) -> None:
    SAMPLES.merge(data.get(SAMPLES_KEY) or {})


@events.quitting.add_listener
def _write(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    path = getattr(opts, "results_json", "") if opts is not None else ""
    if not path or isinstance(environment.runner, WorkerRunner):
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(SAMPLES.results()))

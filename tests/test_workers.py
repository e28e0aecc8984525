"""``mockopenai serve --workers 2``: two processes on one port behave as one mock.

Every request here goes over a new connection, so the kernel (SO_REUSEPORT) picks a worker for
each one; the journal says which worker served what. Attempts, rate-limit buckets, the journal,
metrics, resets and background jobs are shared, so the sequence a client sees is the one a single
process gives."""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from scenario_files import scenario_folder

from mockserver.web_runner import free_port
from servekit.sse import SSEReader

# Background jobs run at a tenth of their scenario time (X-Mock-Time-Scale on each of their
# requests); the server itself runs at full time, so a rate-limit bucket refills at its real rate
# (1 request per 6 s for rpm 10), never within a test.
JOB_TIME_SCALE = "0.1"
SCENARIOS = {
    # attempts 1-3 fail, each differently; then plain success
    "w-sequence": (
        "match: {endpoint: chat.completions}\n"
        "attempts:\n"
        "  - {fault: http_error, status: 429}\n"
        "  - {fault: http_error, status: 500}\n"
        "  - {fault: http_error, status: 503}\n"
        "then: ok\n"
    ),
    "w-rpm": "match: {endpoint: chat.completions}\nfaults:\n  - {fault: rate_limit, rpm: 10}\n",
    # in progress from 0.2 s to about 1.2 s of real time under JOB_TIME_SCALE, a token every 50 ms
    "w-job": "response: {ttft_ms: 2000, inter_token_ms: 500, tokens: 20}\n",
}
READY_S = 60.0
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
TERMINAL = ("response.completed", "response.failed", "response.incomplete")


def start_workers(folder: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(port)]
    cmd += ["--scenarios", folder]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(READY_S):
            proc.kill()
            raise AssertionError("mockopenai serve --workers 2 did not start")
    line = proc.stdout.readline().decode()
    assert f"serving on http://127.0.0.1:{port}/v1 with 2 workers" in line, line
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    return proc.returncode, err.decode(errors="replace")


@pytest.fixture(scope="module")
def worker_scenarios(tmp_path_factory) -> str:
    texts = {name: f"description: serve --workers, {name}.\n{body}" for name, body in SCENARIOS.items()}
    return scenario_folder(tmp_path_factory, texts)


@pytest.fixture(scope="module")
def mock(worker_scenarios):
    port = free_port()
    proc = start_workers(worker_scenarios, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0 and "Traceback" not in err, err  # SIGTERM: every worker stopped cleanly


class Client:
    """Requests of one session, each over a new connection."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.http = url, session
        self.session = "w-" + uuid.uuid4().hex[:12]
        self.extra: dict[str, str] = {}

    def headers(self, scenario: str | None = None) -> dict[str, str]:
        h = {"Authorization": "Bearer sk-x", "X-Mock-Session": self.session, **self.extra}
        return h | ({"X-Mock-Scenario": scenario} if scenario else {})

    async def call(
        self, method: str, path: str, body: Any = None, scenario: str | None = None
    ) -> tuple[int, str, bytes]:
        async with self.http.request(
            method, self.url + path, json=body, headers=self.headers(scenario)
        ) as resp:
            return resp.status, resp.headers.get("x-request-id", ""), await resp.read()

    async def journal(self) -> list[dict[str, Any]]:
        async with self.http.get(self.url + "/_mock/journal", params={"session": self.session}) as resp:
            return await resp.json()

    async def worker_of(self, request_id: str) -> int:
        entries = {e["request_id"]: e for e in await self.journal()}
        return entries[request_id]["worker"]


@pytest.fixture
async def client(mock):
    # force_close: a new connection per request, so the kernel picks a worker for each
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=20)
    ) as http:
        yield Client(mock, http)


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """The JSON events of a whole stream, read with the project's SSE reader."""
    return [json.loads(f.data) for f in SSEReader().feed(raw) if f.data.startswith("{")]


async def test_attempts_count_on_across_workers_and_the_journal_has_each_request_once(client):
    sent: list[tuple[int, str]] = []
    workers: set[int] = set()
    while len(sent) < 60 and (len(sent) < 12 or len(workers) < 2):
        status, rid, _ = await client.call("POST", "/v1/chat/completions", CHAT, scenario="w-sequence")
        sent.append((status, rid))
        if len(sent) >= 12:
            workers = {e["worker"] for e in await client.journal()}
    assert [s for s, _ in sent] == [429, 500, 503] + [200] * (len(sent) - 3)
    entries = await client.journal()
    assert [e["request_id"] for e in entries] == [rid for _, rid in sent]  # each once, in order
    assert [e["attempt"] for e in entries] == list(range(1, len(sent) + 1))
    assert [e["status"] for e in entries] == [s for s, _ in sent]
    assert all(e["ended"] == "complete" for e in entries)
    assert len({e["id"] for e in entries}) == len(entries)
    served_by = [e["worker"] for e in entries]
    assert set(served_by) == {1, 2}
    assert any(a != b for a, b in zip(served_by, served_by[1:], strict=False))  # neighbours split


async def test_a_reset_on_one_worker_is_seen_by_all(client):
    for _ in range(4):
        await client.call("POST", "/v1/chat/completions", CHAT, scenario="w-sequence")
    async with client.http.post(client.url + "/_mock/reset", params={"session": client.session}) as r:
        assert r.status == 200
    assert [await client.journal() for _ in range(6)] == [[]] * 6  # whichever worker answers
    statuses = [
        (await client.call("POST", "/v1/chat/completions", CHAT, scenario="w-sequence"))[0] for _ in range(4)
    ]
    assert statuses == [429, 500, 503, 200]  # attempts start again at 1 on every worker


async def test_metrics_are_the_same_from_every_worker(client):
    for _ in range(3):
        await client.call("POST", "/v1/chat/completions", CHAT, scenario="w-sequence")
    texts = set()
    for _ in range(8):
        async with client.http.get(client.url + "/_mock/metrics") as r:
            texts.add(await r.text())
    assert len(texts) == 1
    (text,) = texts
    assert 'mockopenai_requests_total{endpoint="chat.completions",status="429"}' in text


async def test_one_rate_limit_bucket_for_all_workers(client):
    sent = [await client.call("POST", "/v1/chat/completions", CHAT, scenario="w-rpm") for _ in range(14)]
    assert [s for s, _, _ in sent] == [200] * 10 + [429] * 4
    entries = await client.journal()
    assert {e["worker"] for e in entries} == {1, 2}


async def test_a_background_job_is_polled_and_resumed_on_the_other_worker(client):
    client.extra["X-Mock-Time-Scale"] = JOB_TIME_SCALE
    status, create_rid, body = await client.call(
        "POST", "/v1/responses", {"model": "gpt-4o", "input": "slowly", "background": True}, scenario="w-job"
    )
    assert status == 200
    job = json.loads(body)["id"]
    creator = await client.worker_of(create_rid)
    seen: list[tuple[str, int]] = []  # (status, worker) of each poll
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, rid, body = await client.call("GET", f"/v1/responses/{job}")
        assert status == 200
        seen.append((json.loads(body)["status"], await client.worker_of(rid)))
        if seen[-1][0] == "completed" and any(w != creator for _, w in seen):
            break
        await asyncio.sleep(0.02)
    statuses = [s for s, _ in seen]
    order = ["queued", "in_progress", "completed"]
    assert statuses[-1] == "completed" and statuses == sorted(statuses, key=order.index)
    assert any(w != creator for s, w in seen if s in ("queued", "in_progress"))  # seen running elsewhere
    for _ in range(30):  # resume from the stored log, until the other worker is the one asked
        status, rid, raw = await client.call("GET", f"/v1/responses/{job}?stream=true&starting_after=3")
        assert status == 200
        if await client.worker_of(rid) != creator:
            break
    else:
        raise AssertionError("no resume reached the other worker")
    events = sse_events(raw)
    assert [e["sequence_number"] for e in events] == list(range(4, 4 + len(events)))
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["id"] == job


async def test_a_cancel_on_one_worker_stops_followers_on_both(client):
    client.extra["X-Mock-Time-Scale"] = JOB_TIME_SCALE
    status, _, body = await client.call(
        "POST",
        "/v1/responses",
        {"model": "gpt-4o", "input": "cancel me", "background": True},
        scenario="w-job",
    )
    job = json.loads(body)["id"]
    followers: dict[int, tuple[aiohttp.ClientResponse, list[bytes]]] = {}
    opened = []
    for _ in range(12):  # follow the job over new connections until each worker has a follower
        resp = await client.http.get(f"{client.url}/v1/responses/{job}?stream=true", headers=client.headers())
        opened.append(resp)
        worker = await client.worker_of(resp.headers["x-request-id"])
        if worker not in followers:
            followers[worker] = (resp, [])
        if len(followers) == 2:
            break
    assert set(followers) == {1, 2}

    async def read(resp: aiohttp.ClientResponse, into: list[bytes]) -> None:
        async for chunk in resp.content.iter_any():
            into.append(chunk)

    readers = [asyncio.create_task(read(r, into)) for r, into in followers.values()]
    while True:  # cancel mid-answer, from whichever worker takes the request
        _, _, body = await client.call("GET", f"/v1/responses/{job}")
        current = json.loads(body)
        assert current["status"] in ("queued", "in_progress")
        if any(part.get("text") for item in current["output"] for part in item.get("content", [])):
            break
        await asyncio.sleep(0.02)
    status, cancel_rid, body = await client.call("POST", f"/v1/responses/{job}/cancel")
    assert status == 200 and json.loads(body)["status"] == "cancelled"
    await asyncio.wait_for(asyncio.gather(*readers), timeout=10)  # both end, well before the job would
    _, _, log_raw = await client.call("GET", f"/v1/responses/{job}?stream=true")
    log = sse_events(log_raw)
    assert log[-1]["type"] == "response.output_text.delta"  # no terminal event after a cancel
    assert not any(e["type"] in TERMINAL for e in log)
    for _, into in followers.values():
        heard = sse_events(b"".join(into))
        assert heard == log  # what was due by the cancel, nothing after it
    cancelled_on = await client.worker_of(cancel_rid)
    assert cancelled_on in followers and len(followers) == 2  # one follower was on the other worker
    for _ in range(4):  # frozen, as every worker tells it
        _, _, body = await client.call("GET", f"/v1/responses/{job}")
        assert json.loads(body)["status"] == "cancelled"
    for resp in opened:
        resp.close()


async def test_a_default_paced_job_cancelled_at_once_is_cancelled_on_every_worker(client):
    # no scenario: the model's default pace, a long essay (about 5 s under JOB_TIME_SCALE)
    client.extra["X-Mock-Time-Scale"] = JOB_TIME_SCALE
    essay = {"model": "gpt-4o", "input": "Write a very long essay", "max_output_tokens": 4000}
    status, create_rid, body = await client.call("POST", "/v1/responses", {**essay, "background": True})
    assert status == 200 and json.loads(body)["status"] == "queued"
    job = json.loads(body)["id"]
    status, cancel_rid, body = await client.call("POST", f"/v1/responses/{job}/cancel")
    assert status == 200 and json.loads(body)["status"] == "cancelled"
    workers = {await client.worker_of(create_rid), await client.worker_of(cancel_rid)}
    for _ in range(30):  # until both workers have answered a poll
        status, rid, body = await client.call("GET", f"/v1/responses/{job}")
        assert status == 200 and json.loads(body)["status"] == "cancelled"
        workers.add(await client.worker_of(rid))
        if workers == {1, 2}:
            break
    assert workers == {1, 2}


def test_ctrl_c_stops_every_worker_without_a_traceback(worker_scenarios):
    port = free_port()
    proc = start_workers(worker_scenarios, port)
    pids = set()
    deadline = time.monotonic() + 10
    import urllib.request

    while len(pids) < 2 and time.monotonic() < deadline:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/_mock/health", headers={"Connection": "close"})
        with urllib.request.urlopen(req, timeout=5) as r:
            pids.add(json.load(r)["pid"])
    code, err = stop(proc, signal.SIGINT)
    assert code == 0 and "Traceback" not in err, err
    assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_killed_parent_leaves_no_workers_and_no_temporary_folder(worker_scenarios):
    """kill -9 on serve --workers: the parent cannot clean up, so its orphaned workers stop and
    remove the folder of their shared database themselves."""
    port = free_port()
    proc = start_workers(worker_scenarios, port)
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) == 2
    argv = Path(f"/proc/{children[0]}/cmdline").read_bytes().split(b"\0")
    folder = Path(argv[argv.index(b"--shared-state") + 1].decode()).parent
    assert folder.is_dir()
    proc.kill()
    proc.wait(timeout=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (folder.exists() or any(map(running, children))):
        time.sleep(0.05)
    assert not folder.exists()
    assert not any(map(running, children))


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

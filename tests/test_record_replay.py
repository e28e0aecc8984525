"""Record a real session into a scenario, replay it exactly, and break a live upstream on purpose.

The upstream is a second mock on loopback running scenarios with known timing (tens of ms). The
client is the real ``openai`` SDK: through ``mockopenai record``'s relay, then against a mock
serving the recordings, which must give the same bytes in the same order with each event within
5 ms of its recorded time (the replaying mock's journal emit times, not wall sleeps).
"""

from __future__ import annotations

import base64
import json
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2
import openai
import pytest
import yaml
from aiohttp import web

from harness.pytest_plugin import MockOpenAI
from harness.repro.run import run_scenario
from mockserver.cli import build_parser
from mockserver.config import MockConfig
from mockserver.picture import render_b64
from mockserver.record.proxy import Recorder, create_record_app
from mockserver.scenario.loader import CATALOGUE
from mockserver.scenario.schema import parse_file
from mockserver.upstream import UpstreamURL
from mockserver.web_runner import MockServer
from servekit.threaded import ThreadedServer

KEY = "sk-test-" + "s3cr3tK3y" * 4
UPSTREAM_SCENARIOS = {
    "up-chat-timed": "description: a chat stream with known timing and heartbeats\n"
    "match: {endpoint: chat.completions, stream: true}\n"
    "faults: [{fault: heartbeat, interval_ms: 12, text: still-there}]\n"
    "response: {text: 'One two three four', ttft_ms: 20, inter_token_ms: 16}\n",
    "up-responses-timed": "description: a Responses stream with known timing\n"
    "match: {endpoint: responses, stream: true}\n"
    "response: {text: 'Hello from Responses', ttft_ms: 15, inter_token_ms: 10}\n",
    "up-image-edit": "description: a streamed image edit with partial images\n"
    "match: {endpoint: images.edits}\n"
    "response: {ttft_ms: 15, inter_token_ms: 10}\n",
    "up-429-then-ok": "description: a 429 with its headers, then the answer\n"
    "match: {endpoint: chat.completions, stream: false}\n"
    "attempts: [{fault: http_error, status: 429, code: rate_limit_exceeded, retry_after_ms: 20,"
    " headers: {x-ratelimit-remaining-requests: '0'}}]\n"
    "then: ok\n"
    "response: {text: 'after the retry', ttft_ms: 10}\n",
    "up-429-stream": "description: a streamed chat refused once with a 429, then answered\n"
    "match: {endpoint: chat.completions, stream: true}\n"
    "attempts: [{fault: http_error, status: 429, retry_after_ms: 20}]\n"
    "then: ok\n",
    "up-chat-long": "description: a long chat stream, an event every 20 ms\n"
    "match: {endpoint: chat.completions, stream: true}\n"
    "response: {tokens: 15, ttft_ms: 10, inter_token_ms: 20}\n",
}
PROXY_SCENARIOS = {
    "px-drop-3": "description: cut the live stream after its 3rd event\n"
    "faults: [{fault: drop, after_events: 3}]\n",
    "px-429": "description: refuse before the upstream is called\n"
    "faults: [{fault: http_error, status: 429, retry_after_ms: 5}]\n",
    "px-drop-70ms": "description: cut the live stream 70 ms after the request came\n"
    "faults: [{fault: drop, after_ms: 70}]\n",
    "px-responses-error": "description: an in-band error after the 4th event of a live Responses stream\n"
    "match: {endpoint: responses}\n"
    "faults: [{fault: error_event, after_events: 4}]\n",
    "px-body-slow": "description: a JSON answer held back 80 ms\n"
    "match: {stream: false}\n"
    "faults: [{fault: slow, ttft_ms: 80}]\n",
    "px-stall-slow": "description: a stall and a slow stream on the live upstream\n"
    "faults: [{fault: stall, after_events: 2, duration_ms: 60}, {fault: duplicate, after_events: 1}]\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / f"{name}.yaml").write_text(text)
    return root


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    root = write(tmp_path_factory.mktemp("upstream"), UPSTREAM_SCENARIOS)
    with MockServer(MockConfig(port=0, scenario_paths=[str(CATALOGUE), str(root)])) as server:
        yield server


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return tmp_path_factory.mktemp("recorded")


@pytest.fixture(scope="module")
def recorder(upstream, recorded):
    app = create_record_app(Recorder(UpstreamURL(upstream.base_url), recorded))
    with ThreadedServer(app, "127.0.0.1", 0, name="recorder") as server:
        yield server


def sdk(base_url: str, session: str, scenario: str | None = None, retries: int = 0) -> openai.OpenAI:
    headers = {"X-Mock-Session": session}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    return openai.OpenAI(
        base_url=base_url, api_key=KEY, max_retries=retries, timeout=10, default_headers=headers
    )


def chat_stream(c: openai.OpenAI) -> bytes:
    with c.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count"}], stream=True
    ) as resp:
        return resp.read()


def responses_stream(c: openai.OpenAI) -> bytes:
    with c.responses.with_streaming_response.create(model="gpt-4o-mini", input="hi", stream=True) as resp:
        return resp.read()


def image_edit_stream(c: openai.OpenAI) -> bytes:
    image = ("in.png", base64.b64decode(render_b64(0, "record-input", "1024x1024")), "image/png")
    with c.images.with_streaming_response.edit(
        model="gpt-image-1", image=image, prompt="add a hat", stream=True, partial_images=2
    ) as resp:
        return resp.read()


def wait_recorded(path: Path, exchanges: int = 1) -> dict:
    """The recording once it holds ``exchanges`` exchanges: the relay writes it as soon as the
    upstream's answer ends, which can be just after the client read the last event it needed."""
    deadline = time.monotonic() + 3
    while True:
        doc = yaml.safe_load(path.read_text()) if path.is_file() else None
        if doc is not None and len(doc.get("attempts") or [doc]) >= exchanges:
            return doc
        assert time.monotonic() < deadline, f"{path} holds fewer than {exchanges} exchanges"
        time.sleep(0.01)


def the_replay(path: Path):
    wait_recorded(path)
    sc = parse_file(path)
    return sc.response.replay or sc.then.response.get("replay")


def replay(recorded: Path, stem: str, call, retries: int = 0) -> tuple[bytes, list[dict]]:
    session = "replay-" + uuid.uuid4().hex[:8]
    with MockServer(MockConfig(port=0, scenario_paths=[str(recorded)])) as server:
        got = call(sdk(server.base_url, session, scenario=stem, retries=retries))
        return got, MockOpenAI(server, session).journal(settle_s=2.0)


TRIES = 3  # a replay is deterministic, the load of a shared 2-core machine is not: best of 3


def timing_misses(spec, entry: dict) -> list[tuple[int, float, float]]:
    """The events that did not go out within 5 ms of their recorded delay from the one before:
    (index, replayed gap, recorded gap). The first event is measured from the request's
    arrival (the upstream's time to headers, then to its first frame)."""
    got = entry["emit_ms"]
    assert len(got) == len(spec.events)
    gaps = [(0, got[0], spec.delay_ms + spec.events[0].delay_ms)]
    gaps += [(i, got[i] - got[i - 1], spec.events[i].delay_ms) for i in range(1, len(got))]
    assert any(want >= 8 for _, _, want in gaps[1:])  # the recording has the upstream's real pace
    return [(i, round(g, 2), want) for i, g, want in gaps if abs(g - want) > 5.0]


@pytest.mark.parametrize(
    ("upstream_scenario", "call"),
    [
        ("up-chat-timed", chat_stream),
        ("up-responses-timed", responses_stream),
        ("up-image-edit", image_edit_stream),
    ],
)
def test_a_recorded_stream_replays_byte_for_byte_with_its_timing(upstream_scenario, call, recorder, recorded):
    stem = "rec-" + upstream_scenario
    original = call(sdk(recorder.url + "/v1", stem, scenario=upstream_scenario))
    path = recorded / f"{stem}.yaml"
    spec = the_replay(path)
    assert b"".join(f.raw for f in spec.events) == original  # every frame as it came
    misses = []
    for _ in range(TRIES):
        got, [entry] = replay(recorded, stem, call)
        assert got == original
        assert entry["ended"] == "complete" and entry["status"] == 200
        misses = timing_misses(spec, entry)
        if not misses:
            break
    assert misses == []
    if upstream_scenario == "up-chat-timed":  # the upstream's heartbeats are frames of their own
        assert b": still-there\n\n" in got and "comment" in entry["event_types"]
    if upstream_scenario == "up-image-edit":  # base64 partial images live in a side file
        assert (recorded / f"{stem}.1.frames.jsonl").is_file()
        assert "events_file" in path.read_text()


def test_a_429_then_success_is_recorded_as_a_user_would_write_it_and_replays_as_that(
    recorder, recorded, upstream
):
    stem = "rec-429-then-ok"
    raw = sdk(
        recorder.url + "/v1", stem, scenario="up-429-then-ok", retries=2
    ).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    original = raw.content
    doc = wait_recorded(recorded / f"{stem}.yaml", exchanges=2)
    first, second = doc["attempts"]
    assert (
        first["fault"] == "http_error" and first["status"] == 429 and first["code"] == "rate_limit_exceeded"
    )
    assert first["retry_after_ms"] == 20 and first["headers"]["x-ratelimit-remaining-requests"] == "0"
    assert second["response"]["replay"]["body"].encode() == original and doc["then"] == second

    def call(c: openai.OpenAI) -> bytes:
        resp = c.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert resp.parse().choices[0].message.content == "after the retry"
        return resp.content

    got, entries = replay(recorded, stem, call, retries=2)
    assert got == original
    assert [(e["status"], e["retry_count"]) for e in entries] == [(429, 0), (200, 1)]


def test_no_key_reaches_any_written_file(recorder, recorded):
    # an upstream that echoes the key (OpenAI masks it in its 401 message) is redacted too
    list(
        sdk(recorder.url + "/v1", "rec-key-check", scenario="up-chat-timed").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    wait_recorded(recorded / "rec-key-check.yaml")  # its own recording, whatever ran before it
    files = [p for p in recorded.iterdir() if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data and KEY[-12:].encode() not in data, path


def test_a_cut_upstream_is_recorded_as_dropped_after_its_last_frame(recorder, recorded):
    stem = "rec-dropped"
    got: list[bytes] = []
    c = sdk(recorder.url + "/v1", stem, scenario="chat-stream-drop")
    with (
        pytest.raises(httpx2.RemoteProtocolError),  # the client saw the upstream's cut itself
        c.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as resp,
    ):
        got.extend(resp.iter_bytes())
    spec = the_replay(recorded / f"{stem}.yaml")
    assert spec.ending == "dropped" and b"".join(f.raw for f in spec.events) == b"".join(got)
    assert not any(f.raw == b"data: [DONE]\n\n" for f in spec.events)


def test_harness_repro_gives_the_recording_the_verdict_of_the_original(recorder, recorded, tmp_path):
    name = "sdk-rate-limit-partial-failure"
    original = parse_file(CATALOGUE / "reported" / f"{name}.yaml")
    stream = sdk(recorder.url + "/v1", "rec-repro", scenario=name, retries=2).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        == "Retried after the rate limit."
    )
    wait_recorded(recorded / "rec-repro.yaml", exchanges=2)
    # the user adds what the repro drives and expects to the recording, as for any scenario
    copy = tmp_path / "rec-repro.yaml"
    copy.write_text(
        (recorded / "rec-repro.yaml").read_text()
        + yaml.safe_dump({"stack": original.stack, "expect": original.expect})
    )
    before, after = run_scenario(name), run_scenario(str(copy))
    assert before.ok and after.ok
    assert sorted((c.line(), c.ok) for c in before.checks) == sorted((c.line(), c.ok) for c in after.checks)


# --- serve --upstream: the faults on a live upstream ------------------------------------------


@pytest.fixture(scope="module")
def live_upstream(tmp_path_factory):
    """An upstream whose every answer is a long stream, an event every 20 ms."""
    root = write(
        tmp_path_factory.mktemp("live-upstream"), {"up-chat-long": UPSTREAM_SCENARIOS["up-chat-long"]}
    )
    with MockServer(
        MockConfig(port=0, scenario_paths=[str(root)], default_scenario="up-chat-long")
    ) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(live_upstream, tmp_path_factory):
    root = write(tmp_path_factory.mktemp("proxy"), PROXY_SCENARIOS)
    with MockServer(
        MockConfig(port=0, scenario_paths=[str(root)], upstream=live_upstream.base_url)
    ) as server:
        yield server


def chat(c: openai.OpenAI):
    return c.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )


def test_a_drop_in_proxy_mode_cuts_the_live_stream_and_the_upstream_sees_its_request_cancelled(
    proxy, live_upstream
):
    session = "px-" + uuid.uuid4().hex[:8]
    chunks = []
    with pytest.raises(openai.APIConnectionError):
        chunks.extend(chat(sdk(proxy.base_url, session, scenario="px-drop-3")))
    assert len(chunks) == 3
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["ended"] == "dropped" and mine["events_sent"] == 3 and mine["faults"] == ["drop"]
    assert mine["upstream"]["status"] == 200 and mine["upstream"]["ended"] == "cancelled"
    [theirs] = MockOpenAI(live_upstream, session).journal(
        settle_s=2.0
    )  # the upstream saw its client go, mid-stream
    assert theirs["ended"] == "client_gone" and 3 <= theirs["events_sent"] < 15


def test_an_http_error_in_proxy_mode_answers_before_the_upstream_is_called(proxy, live_upstream):
    session = "px-" + uuid.uuid4().hex[:8]
    c = openai.OpenAI(
        base_url=proxy.url + "/s/px-429/v1",
        api_key=KEY,
        max_retries=0,
        default_headers={"X-Mock-Session": session},
    )
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["status"] == 429 and mine["upstream"] == {"called": False}
    assert MockOpenAI(live_upstream, session).journal(settle_s=2.0) == []


def test_a_request_without_a_scenario_passes_through_untouched(proxy, live_upstream):
    session = "px-" + uuid.uuid4().hex[:8]
    direct = chat_stream(sdk(live_upstream.base_url, session + "-direct"))
    through = chat_stream(sdk(proxy.base_url, session))
    frames = direct.count(b"\n\n")
    assert through.count(b"\n\n") == frames and through.endswith(b"data: [DONE]\n\n")
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["faults"] == [] and mine["ended"] == "complete"
    assert mine["upstream"]["frames"] == mine["events_sent"] == frames


def test_faults_on_the_live_stream_stall_and_duplicate_as_on_the_mock(proxy):
    session = "px-" + uuid.uuid4().hex[:8]
    chunks = list(chat(sdk(proxy.base_url, session, scenario="px-stall-slow")))
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["faults"] == ["duplicate", "stall"] and mine["ended"] == "stalled"
    assert mine["events_sent"] == mine["upstream"]["frames"] + 1  # one event twice
    assert chunks[1].model_dump() == chunks[2].model_dump()
    gaps = [b - a for a, b in zip(mine["emit_ms"], mine["emit_ms"][1:], strict=False)]
    assert max(gaps) >= 55  # the stall, on top of the upstream's own pace


def test_an_unreachable_upstream_is_a_502_and_the_journal_says_the_upstream_failed():
    from servekit.threaded import free_port

    session = "px-" + uuid.uuid4().hex[:8]
    with MockServer(MockConfig(port=0, upstream=f"http://127.0.0.1:{free_port()}/v1")) as proxy:
        c = sdk(proxy.base_url, session)
        with pytest.raises(openai.InternalServerError) as err:
            c.models.list()
        [entry] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert err.value.status_code == 502 and "upstream" in err.value.message
    assert (
        entry["status"] == 502 and entry["upstream"]["ended"] == "unreachable" and entry["upstream"]["error"]
    )


def test_record_and_serve_help_show_every_option_with_its_default():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    record = sub["record"].format_help()
    for text in (
        "--upstream URL",
        "--host",
        "(default: 127.0.0.1)",
        "--port",
        "(default: 8000)",
        "--out",
        "(default: scenarios/recorded/)",
        "--redact",
    ):
        assert text in " ".join(record.split()), text
    serve = " ".join(sub["serve"].format_help().split())
    assert "--upstream URL" in serve and "(default: none, the mock answers itself)" in serve


def test_a_client_that_goes_away_cancels_the_upstream_request_and_nothing_is_recorded(
    recorder, recorded, upstream
):
    session = "rec-gone-" + uuid.uuid4().hex[:6]
    stream = chat(sdk(recorder.url + "/v1", session, scenario="up-chat-long"))
    next(stream), next(stream)
    stream.close()
    [theirs] = MockOpenAI(upstream, session).journal(settle_s=2.0)
    assert theirs["ended"] == "client_gone" and theirs["events_sent"] < 16
    assert not (recorded / f"{session}.yaml").exists()


def test_in_proxy_mode_a_client_that_goes_away_cancels_the_upstream_request(proxy, live_upstream):
    session = "px-" + uuid.uuid4().hex[:8]
    stream = chat(sdk(proxy.base_url, session, scenario="px-stall-slow"))
    next(stream)
    stream.close()
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    [theirs] = MockOpenAI(live_upstream, session).journal(settle_s=2.0)
    assert mine["ended"] == "client_gone" and mine["upstream"]["ended"] == "cancelled"
    assert theirs["ended"] == "client_gone" and theirs["events_sent"] < 16
    assert KEY not in json.dumps(mine)  # the key reaches no journal


def test_in_proxy_mode_a_json_answer_gets_the_faults_once_it_came(proxy):
    session = "px-" + uuid.uuid4().hex[:8]
    c = sdk(proxy.base_url, session, scenario="px-body-slow")
    answer = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["faults"] == ["slow"] and mine["first_byte_ms"] >= 80 and mine["upstream"]["status"] == 200


def test_mockopenai_record_as_a_process_redacts_what_it_is_told(upstream, tmp_path):
    out = tmp_path / "rec"
    cmd = [sys.executable, "-m", "mockserver.cli", "record", "--upstream", upstream.base_url, "--port", "0"]
    cmd += ["--out", str(out), "--redact", "x-request-id", "--redact", "$.choices[*].delta.content"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = first_line(proc)
        assert "mockopenai recording http://127.0.0.1:" in line and f"-> {upstream.base_url}" in line
        base = line.split()[2]
        text = "".join(
            c.choices[0].delta.content or ""
            for c in chat(sdk(base, "cli-redact", scenario="up-chat-timed"))
            if c.choices
        )
        assert text == "One two three four"  # the client gets the real answer
        doc = wait_recorded(out / "cli-redact.yaml")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and b"Traceback" not in err, err
    replay = doc["response"]["replay"]
    assert replay["headers"]["x-request-id"] == "[REDACTED]"
    frames = "".join(f["raw"] for f in replay["events"])
    assert '"content":"[REDACTED]"' in frames and "three" not in frames
    assert KEY.encode() not in err and KEY not in (out / "cli-redact.yaml").read_text()
    assert b"cli-redact.yaml" in err  # it says where each exchange went


def first_line(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "mockopenai record printed nothing"
    return proc.stdout.readline().decode()


def test_in_proxy_mode_a_drop_after_ms_cuts_the_live_stream_on_time(proxy):
    session = "px-" + uuid.uuid4().hex[:8]
    with pytest.raises(openai.APIConnectionError):
        list(chat(sdk(proxy.base_url, session, scenario="px-drop-70ms")))
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["ended"] == "dropped" and 2 <= mine["events_sent"] <= 5
    assert mine["emit_ms"][-1] <= 70 and mine["upstream"]["ended"] == "cancelled"


def test_in_proxy_mode_an_error_event_speaks_the_live_streams_api(tmp_path):
    root = write(tmp_path / "up", {"up-responses-timed": UPSTREAM_SCENARIOS["up-responses-timed"]})
    faults = write(tmp_path / "px", {"px-responses-error": PROXY_SCENARIOS["px-responses-error"]})
    with (
        MockServer(
            MockConfig(port=0, scenario_paths=[str(root)], default_scenario="up-responses-timed")
        ) as up,
        MockServer(MockConfig(port=0, scenario_paths=[str(faults)], upstream=up.base_url)) as proxy,
    ):
        c = sdk(proxy.base_url, "px-responses", scenario="px-responses-error")
        events = list(c.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    assert [e.sequence_number for e in events] == list(range(5))
    assert events[-1].type == "error" and events[-1].code == "server_error"


def test_a_key_the_upstream_echoes_back_is_redacted_too(tmp_path):
    from mockserver.errors import mask_key

    with MockServer(MockConfig(port=0, api_keys=["sk-the-only-good-key"])) as up:
        app = create_record_app(Recorder(UpstreamURL(up.base_url), tmp_path))
        with ThreadedServer(app, "127.0.0.1", 0) as relay, pytest.raises(openai.AuthenticationError) as err:
            sdk(relay.url + "/v1", "rec-401").models.list()
    assert mask_key(KEY) in err.value.message  # the client got what the upstream said
    wait_recorded(tmp_path / "rec-401.yaml")
    text = (tmp_path / "rec-401.yaml").read_text()
    assert "http_error" in text and "status: 401" in text and "[REDACTED]" in text
    assert KEY not in text and mask_key(KEY) not in text


def test_without_x_mock_session_one_client_connection_is_one_recording(upstream, tmp_path):
    app = create_record_app(Recorder(UpstreamURL(upstream.base_url), tmp_path))
    with ThreadedServer(app, "127.0.0.1", 0) as relay:
        for _ in range(2):  # two clients, each with its own pooled connection, two calls each
            c = openai.OpenAI(base_url=relay.url + "/v1", api_key=KEY, max_retries=0)
            c.models.list()
            c.models.retrieve("gpt-4o")
            c.close()
        deadline = time.monotonic() + 3
        while len(list(tmp_path.glob("rec-*.yaml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    files = sorted(tmp_path.glob("rec-*.yaml"))
    assert len(files) == 2
    for path in files:
        doc = wait_recorded(path, exchanges=2)
        assert doc["match"] == {"endpoint": "models", "stream": False} and len(doc["attempts"]) == 2


@pytest.fixture(scope="module")
def fast_proxy(tmp_path_factory):
    """A proxy in front of an upstream that streams 8 tokens, one every 4 ms."""
    up_root = write(
        tmp_path_factory.mktemp("fast-upstream"),
        {"up-fast": "description: a short stream\nresponse: {tokens: 8, ttft_ms: 2, inter_token_ms: 4}\n"},
    )
    px_root = write(
        tmp_path_factory.mktemp("fast-proxy"),
        {
            "live-truncate": "description: x\nfaults: [{fault: truncate, after_events: 3}]\n",
            "live-no-done": "description: x\nfaults: [{fault: no_done}]\n",
            "live-omit": "description: x\nfaults: [{fault: omit, types: [done]}]\n",
            "live-out-of-order": "description: x\nfaults: [{fault: out_of_order, after_events: 2}]\n",
            "live-malformed": "description: x\nfaults: [{fault: malformed, after_events: 2}]\n",
            "live-buffered": "description: x\nfaults: [{fault: buffered}]\n",
            "live-heartbeat": "description: x\nfaults: [{fault: heartbeat, interval_ms: 1, text: hb}]\n",
        },
    )
    with (
        MockServer(MockConfig(port=0, scenario_paths=[str(up_root)], default_scenario="up-fast")) as up,
        MockServer(MockConfig(port=0, scenario_paths=[str(px_root)], upstream=up.base_url)) as proxy,
    ):
        proxy.upstream = up
        yield proxy


def frames_of(data: bytes) -> list[bytes]:
    return [f for f in data.split(b"\n\n") if f]


def test_each_event_fault_on_a_live_stream(fast_proxy):
    def run(scenario: str | None) -> tuple[bytes, dict]:
        session = "live-" + uuid.uuid4().hex[:8]
        c = sdk(fast_proxy.base_url, session, scenario=scenario)
        try:
            data = chat_stream(c)
        except httpx2.RemoteProtocolError:
            data = b""
        [entry] = MockOpenAI(fast_proxy, session).journal(settle_s=2.0)
        return data, entry

    plain, entry = run(None)
    n = entry["events_sent"]
    assert n == len(frames_of(plain)) and plain.endswith(b"data: [DONE]\n\n")
    contents = [json.loads(f[6:])["choices"][0]["delta"].get("content") for f in frames_of(plain)[:-1]]

    _, entry = run("live-truncate")
    assert entry["ended"] == "truncated" and entry["events_sent"] == 4  # 3, then half of the 4th
    for scenario in ("live-no-done", "live-omit"):
        data, entry = run(scenario)
        assert b"[DONE]" not in data and entry["events_sent"] == n - 1 and entry["ended"] == "complete"
    data, _ = run("live-out-of-order")
    swapped = [json.loads(f[6:])["choices"][0]["delta"].get("content") for f in frames_of(data)[:-1]]
    assert swapped[2:4] == contents[3:1:-1] and swapped[:2] + swapped[4:] == contents[:2] + contents[4:]
    data, entry = run("live-malformed")
    assert entry["event_types"][2] == "malformed" and entry["events_sent"] == n + 1
    _, entry = run("live-buffered")
    assert (
        entry["events_sent"] == n and entry["emit_ms"][-1] - entry["emit_ms"][0] < 3
    )  # all at once, at the end
    data, entry = run("live-heartbeat")
    assert b": hb\n\n" in data and entry["events_sent"] == n


def test_without_x_mock_session_an_sdk_retry_on_a_new_connection_joins_its_recording(upstream, tmp_path):
    """After a streamed 429 openai-python retries on a new connection: the retry still belongs to
    the recording of the attempt it retries, so the file replays "429, then the answer"."""
    app = create_record_app(Recorder(UpstreamURL(upstream.base_url), tmp_path))
    with ThreadedServer(app, "127.0.0.1", 0) as relay:
        c = openai.OpenAI(
            base_url=relay.url + "/v1",
            api_key=KEY,
            max_retries=2,
            default_headers={"X-Mock-Scenario": "up-429-stream"},
        )
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in c.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            if chunk.choices
        )
        c.close()
        deadline = time.monotonic() + 3
        while not list(tmp_path.glob("rec-*.yaml")) and time.monotonic() < deadline:
            time.sleep(0.01)
        (path,) = tmp_path.glob("rec-*.yaml")
        doc = wait_recorded(path, exchanges=2)
    first, second = doc["attempts"]
    assert first["fault"] == "http_error" and first["status"] == 429
    assert "events" in second["response"]["replay"] and text


def test_in_proxy_mode_the_upstreams_own_error_reaches_the_client_as_it_came(proxy, live_upstream):
    """A stream fault has no events to act on in the upstream's 404: the client gets that 404."""
    session = "px-" + uuid.uuid4().hex[:8]
    with pytest.raises(openai.NotFoundError) as exc:
        chat_model = sdk(proxy.base_url, session, scenario="px-drop-3").chat.completions
        chat_model.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert exc.value.code == "model_not_found"
    [mine] = MockOpenAI(proxy, session).journal(settle_s=2.0)
    assert mine["status"] == 404 and mine["ended"] == "complete"
    assert mine["upstream"]["status"] == 404


# --- an upstream that misbehaves ---------------------------------------------------------------


def odd_upstream() -> web.Application:
    """Answers no scenario can hold, and a 401 that echoes the request's query string back."""

    async def status_600(request: web.Request) -> web.Response:
        return web.Response(status=600, body=b'{"ok": true}', content_type="application/json")

    async def echo_query(request: web.Request) -> web.Response:
        body = {
            "error": {"message": f"bad key in {request.path_qs}", "type": "x", "code": None, "param": None}
        }
        return web.json_response(body, status=401, headers={"x-request-id": request.path_qs})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})

    app = web.Application()
    app.router.add_post("/v1/status600", status_600)
    app.router.add_post("/v1/echo", echo_query)
    app.router.add_get("/v1/models", models)
    return app


def test_an_answer_no_scenario_can_hold_reaches_the_client_whole_and_the_session_records_on(tmp_path):
    with ThreadedServer(odd_upstream(), "127.0.0.1", 0) as up:
        app = create_record_app(Recorder(UpstreamURL(up.url + "/v1"), tmp_path))
        with ThreadedServer(app, "127.0.0.1", 0) as relay, httpx2.Client(base_url=relay.url) as http:
            headers = {"X-Mock-Session": "odd", "Authorization": f"Bearer {KEY}"}
            r = http.post("/v1/status600", content=b"{}", headers=headers)
            assert (r.status_code, r.content) == (600, b'{"ok": true}')  # whole, not cut
            assert http.get("/v1/models", headers=headers).status_code == 200
            doc = wait_recorded(tmp_path / "odd.yaml")
    assert doc["match"]["endpoint"] == "models"  # the 600 was left out, the session went on
    assert not list(tmp_path.glob("*.tmp")) and [p.name for p in tmp_path.iterdir()] == ["odd.yaml"]


def test_a_key_in_the_query_string_reaches_no_file(tmp_path):
    with ThreadedServer(odd_upstream(), "127.0.0.1", 0) as up:
        app = create_record_app(Recorder(UpstreamURL(up.url + "/v1"), tmp_path))
        with ThreadedServer(app, "127.0.0.1", 0) as relay, httpx2.Client(base_url=relay.url) as http:
            secret = "QUERYSECRET" + uuid.uuid4().hex
            r = http.post(
                f"/v1/echo?api-key={secret}&api-version=2024", content=b"{}", headers={"X-Mock-Session": "q"}
            )
            assert r.status_code == 401 and secret in r.text  # the client gets what the upstream said
            wait_recorded(tmp_path / "q.yaml")
    written = "".join(p.read_text(errors="replace") for p in tmp_path.iterdir())
    assert secret not in written and "[REDACTED]" in written


def test_an_upstream_that_does_not_speak_http_is_a_502_in_proxy_mode(tmp_path):
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def garbage() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"this is not HTTP\r\n\r\n")
            conn.close()

    threading.Thread(target=garbage, daemon=True).start()
    try:
        config = MockConfig(port=0, scenario_paths=[str(CATALOGUE)], upstream=f"http://127.0.0.1:{port}/v1")
        with MockServer(config) as proxy, httpx2.Client(base_url=proxy.url) as http:
            r = http.post(
                "/v1/chat/completions?api-key=QSECRET2222",
                json={"model": "gpt-4o", "messages": []},
                headers={"X-Mock-Session": "g"},
            )
            assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
            assert "QSECRET2222" not in r.text
            [entry] = MockOpenAI(proxy, "g").journal(settle_s=2.0)
            assert entry["upstream"]["ended"] == "unreachable"
    finally:
        listener.close()


def test_record_refuses_an_out_that_is_a_file(tmp_path):
    out = tmp_path / "not-a-folder"
    out.write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver.cli",
            "record",
            "--upstream",
            "http://127.0.0.1:9/v1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (
        done.returncode == 2
        and done.stderr.strip() == f"mockopenai record: --out {out}: is a file, not a folder"
    )


def test_a_client_that_has_a_whole_json_answer_finds_its_recording(upstream, tmp_path):
    """No polling: the last bytes of a body of known length wait for the file."""
    app = create_record_app(Recorder(UpstreamURL(upstream.base_url), tmp_path))
    with ThreadedServer(app, "127.0.0.1", 0) as relay:
        c = openai.OpenAI(
            base_url=relay.url + "/v1",
            api_key=KEY,
            max_retries=0,
            default_headers={"X-Mock-Session": "at-once"},
        )
        for n in range(1, 4):
            c.models.retrieve("gpt-4o")
            doc = yaml.safe_load((tmp_path / "at-once.yaml").read_text())
            assert len(doc.get("attempts") or [doc]) == n  # this call's exchange is in it already
        c.close()

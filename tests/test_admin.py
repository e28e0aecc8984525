"""The admin API: journal entries, reset, scenarios, metrics; and client_gone when a client leaves."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import openai
import pytest

from harness.pytest_plugin import MockOpenAI

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def mock_openai_server(mock_openai_server_factory):
    return mock_openai_server_factory(time_scale=0.02)


def admin(mock: MockOpenAI, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    req = urllib.request.Request(mock.url + path, method=method)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.headers["content-type"], r.read()


def wait_for(predicate, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_journal_entry_has_every_field_of_a_streamed_request(mock_openai):
    client = mock_openai.client("chat-stream-stall", max_retries=0).with_options(
        default_headers={"X-Mock-Time-Scale": "0.002"}
    )
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    (entry,) = mock_openai.journal()
    assert entry["scenario"] == "chat-stream-stall" and entry["session"] == mock_openai.session
    assert (entry["attempt"], entry["endpoint"], entry["model"], entry["stream"]) == (
        1,
        "chat.completions",
        "gpt-4o-mini",
        True,
    )
    assert (entry["retry_count"], entry["status"], entry["faults"], entry["ended"]) == (
        0,
        200,
        ["stall"],
        "stalled",
    )
    assert entry["events_sent"] == len(entry["emit_ms"]) == len(entry["event_types"]) > 3
    assert entry["bytes_sent"] > 0 and entry["received_at"] > 1.6e9
    assert 0 <= entry["first_byte_ms"] <= entry["first_content_ms"] <= entry["last_byte_ms"]
    assert entry["event_types"][-1] == "done"
    assert entry["user_agent"] == f"OpenAI/Python {openai.__version__}"
    assert entry["body_fields"] == ["messages", "model", "stream"]  # what the client sent


def test_the_journal_keeps_the_field_names_of_a_body_not_its_values(mock_openai):
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, **{f"x{i}": i for i in range(100)}})
    req = urllib.request.Request(
        mock_openai.base_url + "/chat/completions",
        data=body.encode(),
        headers={
            "Authorization": "Bearer sk-test",
            "X-Mock-Session": mock_openai.session,
            "User-Agent": "u" * 500,
        },
    )
    with pytest.raises(urllib.error.HTTPError):  # x0…: not chat completions fields
        urllib.request.urlopen(req, timeout=5)
    (entry,) = mock_openai.journal()
    assert entry["user_agent"] == "u" * 200
    assert len(entry["body_fields"]) == 64 and {"model", "messages"} <= set(entry["body_fields"])


def test_client_gone_is_recorded_when_the_client_leaves_mid_stall(mock_openai):
    # 5 s stall after two events: 100 ms here
    client = mock_openai.client("chat-stream-heartbeat-stops", max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    next(stream), next(stream)
    stream.close()
    entry = wait_for(lambda: next((e for e in mock_openai.journal() if e["ended"]), None))
    assert entry["ended"] == "client_gone"
    assert entry["events_sent"] == 2


def test_journal_by_session_and_reset_of_one_session(mock_openai):
    session = mock_openai.session
    other = MockOpenAI(mock_openai.server, session + "-other")
    mock_openai.client(max_retries=0).models.list()
    other.client(max_retries=0).models.list()

    def listed(query: str = "") -> list[dict]:  # GET /_mock/journal itself is under test here
        return json.loads(admin(mock_openai, "/_mock/journal" + query)[2])

    assert [e["endpoint"] for e in listed(f"?session={session}")] == ["models"]
    assert {session, other.session} <= {e["session"] for e in listed()}
    status, _, body = admin(mock_openai, f"/_mock/reset?session={session}", method="POST")
    assert status == 200 and json.loads(body) == {"reset": True, "session": session}
    assert listed(f"?session={session}") == []
    assert len(listed(f"?session={other.session}")) == 1
    # the plugin's handle reads the same journal
    assert other.journal() == listed(f"?session={other.session}")
    other.reset()


def test_reset_restarts_the_attempt_sequence(mock_openai):
    client = mock_openai.client("chat-html-502", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    admin(mock_openai, f"/_mock/reset?session={mock_openai.session}", method="POST")
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [e["attempt"] for e in mock_openai.journal()] == [1]


def test_scenarios_lists_name_description_reproduces_and_match(mock_openai):
    body = json.loads(admin(mock_openai, "/_mock/scenarios")[2])
    by_name = {s["name"]: s for s in body["scenarios"]}
    drop = by_name["chat-stream-drop"]
    assert (
        drop["description"] == "The chat stream's connection closes after five events, without data [DONE]."
    )
    assert drop["reproduces"].startswith("httpx.RemoteProtocolError")
    assert drop["match"] == {"endpoint": "chat.completions", "stream": True}
    assert by_name["chat-rate-limit-tpm"]["match"] == {"endpoint": "chat.completions"}


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_faults_endings_and_ttft(mock_openai):
    before = admin(mock_openai, "/_mock/metrics")[2].decode()
    with pytest.raises(openai.APIConnectionError):
        list(
            mock_openai.client("chat-stream-drop", max_retries=0).chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True
            )
        )
    list(
        mock_openai.client(max_retries=0).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
    )
    status, ctype, raw = admin(mock_openai, "/_mock/metrics")
    after = raw.decode()
    assert status == 200 and ctype.startswith("text/plain")
    assert "# TYPE mockopenai_ttft_ms histogram" in after
    for name, grew in [
        ('mockopenai_faults_total{fault="drop"}', 1),
        ('mockopenai_streams_total{ended="dropped"}', 1),
        ('mockopenai_streams_total{ended="complete"}', 1),
        ('mockopenai_requests_total{endpoint="chat.completions",status="200"}', 2),
        ("mockopenai_ttft_ms_count", 2),
    ]:
        assert metric(after, name) - metric(before, name) >= grew, name
    # counters survive a reset of the journal
    admin(mock_openai, f"/_mock/reset?session={mock_openai.session}", method="POST")
    assert metric(
        admin(mock_openai, "/_mock/metrics")[2].decode(), 'mockopenai_faults_total{fault="drop"}'
    ) >= metric(after, 'mockopenai_faults_total{fault="drop"}')


def test_health_counts_the_loaded_scenarios(mock_openai):
    health = json.loads(admin(mock_openai, "/_mock/health")[2])
    assert health["status"] == "ok" and health["scenarios"] >= 25

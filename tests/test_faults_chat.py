"""Each fault's client-visible symptom on chat completions, through the real openai SDK.

One mock for the module (the plugin's, with the scenario catalogue) at a time scale of 0.05 (every
scenario wait takes 5 % of its time). Every test uses its own session (the plugin's
``mock_openai``), so the tests run in any order and in parallel.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from harness.pytest_plugin import MockOpenAI
from servekit.sse import SSEReader

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def mock_openai_server(mock_openai_server_factory):
    return mock_openai_server_factory(time_scale=0.05)


def stream_chat(client: openai.OpenAI, **extra) -> list[ChatCompletionChunk]:
    chunks = []
    for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, **extra):
        chunks.append(ChatCompletionChunk.model_validate(chunk.model_dump()))
    return chunks


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# --- http_error ------------------------------------------------------------------------------


def test_429_with_retry_after_ms_is_retried_once_and_succeeds(mock_openai):
    client = mock_openai.client("chat-429-retry-after-ms", max_retries=2)
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    ChatCompletion.model_validate(completion.model_dump())
    assert completion.choices[0].message.content == "Hello from the mock"
    entries = mock_openai.journal()
    assert [(e["attempt"], e["retry_count"], e["status"]) for e in entries] == [(1, 0, 429), (2, 1, 200)]
    assert entries[0]["faults"] == ["http_error"] and entries[1]["faults"] == []
    gap_ms = (entries[1]["received_at"] - entries[0]["received_at"]) * 1000
    assert gap_ms >= 200


def test_429_headers_and_body_are_what_the_sdk_reads(mock_openai):
    client = mock_openai.client("chat-429-retry-after-ms", max_retries=0)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.status_code == 429
    assert err.value.response.headers["retry-after-ms"] == "200"
    assert err.value.code == "rate_limit_exceeded"
    assert err.value.response.headers["x-request-id"].startswith("req_")


def test_should_retry_false_stops_the_sdk_retrying(mock_openai):
    client = mock_openai.client("chat-429-should-not-retry", max_retries=2)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.code == "insufficient_quota"
    assert [e["retry_count"] for e in mock_openai.journal()] == [0]


def test_two_500s_use_up_the_default_retries_then_succeed(mock_openai):
    client = mock_openai.client("chat-500-twice-then-ok", max_retries=2)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [(e["retry_count"], e["status"]) for e in mock_openai.journal()] == [(0, 500), (1, 500), (2, 200)]


def test_html_502_from_a_proxy_is_an_internal_server_error(mock_openai):
    client = mock_openai.client("chat-html-502", max_retries=0)
    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.status_code == 502
    assert err.value.response.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in err.value.response.text


# --- cuts: drop, reset, truncate -------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario,ended",
    [
        ("chat-stream-drop", "dropped"),
        ("chat-stream-reset", "reset"),
        ("chat-stream-truncate", "truncated"),
        ("chat-stream-drop-after-ms", "dropped"),
    ],
)
def test_a_cut_stream_raises_api_connection_error(mock_openai, scenario, ended):
    client = mock_openai.client(scenario, max_retries=0)
    received = []
    with pytest.raises(openai.APIConnectionError) as err:
        for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert isinstance(err.value.__cause__, httpx2.HTTPError)
    (entry,) = mock_openai.journal()
    assert entry["ended"] == ended and entry["status"] == 200
    assert "done" not in entry["event_types"]
    assert len(received) <= entry["events_sent"]
    # the next attempt of the same session is the scenario's `then: ok`
    assert text_of(stream_chat(client))


def test_drop_after_five_events_delivers_exactly_five(mock_openai):
    client = mock_openai.client("chat-stream-drop", max_retries=0)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert len(received) == 5
    assert mock_openai.journal()[0]["events_sent"] == 5


def test_reset_before_any_byte_is_retried_by_the_sdk(mock_openai):
    client = mock_openai.client("chat-reset-before-response", max_retries=1)
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content
    entries = mock_openai.journal()
    assert [(e["retry_count"], e["ended"]) for e in entries] == [(0, "reset"), (1, "complete")]
    assert entries[0]["first_byte_ms"] is None


# --- in-band: error_event, malformed, no_done, duplicate -------------------------------------


def test_in_band_error_event_raises_api_error(mock_openai):
    client = mock_openai.client("chat-stream-error-event", max_retries=0)
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert not isinstance(err.value, openai.APIStatusError)
    assert "Sorry about that" in err.value.message
    assert err.value.code == "server_error"
    assert len(received) == 4
    assert mock_openai.journal()[0]["event_types"][-1] == "error"


def test_malformed_frame_is_the_sdks_json_error(mock_openai):
    client = mock_openai.client("chat-stream-malformed", max_retries=0)
    with pytest.raises(json.JSONDecodeError):
        stream_chat(client)


def test_stream_without_done_ends_quietly_with_all_content(mock_openai):
    client = mock_openai.client("chat-stream-no-done", max_retries=0)
    chunks = stream_chat(client)
    assert chunks[-1].choices[0].finish_reason == "stop"
    entry = mock_openai.journal()[0]
    assert entry["ended"] == "complete" and "done" not in entry["event_types"]


def test_duplicate_chunk_is_seen_three_times(mock_openai):
    client = mock_openai.client("chat-stream-duplicate", max_retries=0)
    assert text_of(stream_chat(client)) == "one two two two three four"


# --- timing: stall, heartbeat, slow, buffered, hang ------------------------------------------


def test_stall_then_finish_is_journalled_as_stalled(mock_openai):
    # X-Mock-Time-Scale shrinks this request's waits only: the 30 s stall takes 0.3 s
    client = mock_openai.client("chat-stream-stall", max_retries=0).with_options(
        default_headers={
            "X-Mock-Session": mock_openai.session,
            "X-Mock-Scenario": "chat-stream-stall",
            "X-Mock-Time-Scale": "0.01",
        }
    )
    started = time.perf_counter()
    assert text_of(stream_chat(client))
    assert 0.3 <= time.perf_counter() - started < 1.2
    entry = mock_openai.journal()[0]
    assert entry["ended"] == "stalled" and entry["faults"] == ["stall"]
    gaps = [b - a for a, b in zip(entry["emit_ms"], entry["emit_ms"][1:], strict=False)]
    assert max(gaps) >= 300 * 0.95
    assert gaps.index(max(gaps)) == 2  # between the third and the fourth event


def test_bad_time_scale_header_is_a_clear_400(mock_openai):
    client = mock_openai.client(max_retries=0).with_options(default_headers={"X-Mock-Time-Scale": "fast"})
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "X-Mock-Time-Scale" in err.value.message and err.value.param == "X-Mock-Time-Scale"


def test_heartbeat_comments_do_not_disturb_the_sdk(mock_openai):
    client = mock_openai.client("chat-stream-heartbeat", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, stream=True)
    # read the bytes ourselves once, then let the SDK parse an identical stream
    body = b"".join(raw.http_response.iter_bytes())
    comments = [f.comment for f in SSEReader().feed(body) if f.is_comment]
    assert comments.count("keep-alive") >= 3
    chunks = stream_chat(mock_openai.client("chat-stream-heartbeat", max_retries=0))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(text_of(chunks).split()) == 5


def test_slow_draws_its_ttft_from_the_scenarios_distribution(mock_openai):
    # at this module's 0.05 the whole distribution is 4 ms wide, less than a busy machine's lag;
    # at 0.25 it is 20 ms wide and the lag allowed on top of it is 50 ms
    scale = 0.25
    client = mock_openai.client("chat-stream-slow", max_retries=0)
    chunks = stream_chat(client.with_options(default_headers={"X-Mock-Time-Scale": str(scale)}))
    assert chunks[-1].choices[0].finish_reason == "stop"
    entry = mock_openai.journal()[0]
    assert entry["faults"] == ["slow"]
    # lognormal around 800 ms with sigma 30/800: 760..840 ms of scenario time
    assert 800 * scale * 0.85 <= entry["first_content_ms"] < 800 * scale * 1.15 + 50


def test_buffered_stream_arrives_all_at_once_at_the_end(mock_openai):
    client = mock_openai.client("chat-stream-buffered", max_retries=0)
    arrivals = []
    started = time.perf_counter()
    for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
        arrivals.append((time.perf_counter() - started) * 1000)
    # 200 + 9 * 50 ms of scenario time at scale 0.05: 32.5 ms, all of it before the first chunk
    assert arrivals[0] >= 32.5 * 0.9
    # all of it left in one write: the mock stamps every event of a write with that write's time
    # (the client's reading on a busy machine would say more about the machine); unbuffered, the
    # same events span 22.5 ms
    emits = mock_openai.journal()[0]["emit_ms"]
    assert len(emits) >= 10 and len(set(emits)) == 1


def test_hang_makes_the_clients_timeout_fire(mock_openai):
    client = mock_openai.client("chat-hang", max_retries=0, timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert 0.3 <= time.perf_counter() - started < 3
    assert mock_openai.journal()[0]["ended"] == "hang"


# --- rate_limit ------------------------------------------------------------------------------


def test_rate_limit_headers_count_down_then_429_then_reset(mock_openai):
    client = mock_openai.client("chat-rate-limit-rpm", max_retries=0)
    remaining = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
        assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
        remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
    assert remaining == [2, 1, 0]
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    headers = err.value.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert int(headers["retry-after-ms"]) > 0 and int(headers["retry-after"]) >= 1
    assert "requests per min (RPM): Limit 3" in err.value.message
    # a reset of this session refills the bucket
    urllib.request.urlopen(
        urllib.request.Request(f"{mock_openai.url}/_mock/reset?session={mock_openai.session}", method="POST"),
        timeout=5,
    ).close()
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-ratelimit-remaining-requests"] == "2"


def test_token_bucket_refuses_when_tokens_run_out(mock_openai):
    client = mock_openai.client("chat-rate-limit-tpm", max_retries=0)
    seen = []
    with pytest.raises(openai.RateLimitError) as err:
        for _ in range(20):
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
            seen.append(int(raw.headers["x-ratelimit-remaining-tokens"]))
    assert seen == sorted(seen, reverse=True) and len(seen) >= 2
    assert "tokens per min (TPM): Limit 200" in err.value.message


# --- isolation -------------------------------------------------------------------------------


def test_parallel_sessions_each_see_their_own_first_attempt(mock_openai):
    results: dict[str, list[tuple[int, int]]] = {}

    def one(handle: MockOpenAI) -> None:
        client = handle.client("chat-429-retry-after-ms", max_retries=2)
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        results[handle.session] = [(e["attempt"], e["status"]) for e in handle.journal()]

    handles = [MockOpenAI(mock_openai.server, f"{mock_openai.session}-{i}") for i in range(6)]
    threads = [threading.Thread(target=one, args=(handle,)) for handle in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 6
    assert all(v == [(1, 429), (2, 200)] for v in results.values())


def test_scenario_by_path_prefix_and_unmatched_requests_stay_plain(mock_openai):
    client = openai.OpenAI(
        base_url=mock_openai.scenario_url("chat-stream-drop"),
        api_key="sk-test",
        default_headers={"X-Mock-Session": mock_openai.session},
        max_retries=0,
    )
    # the scenario matches streaming chat only: a non-streaming call is plain and uses no attempt
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.APIConnectionError):
        stream_chat(client)
    entries = mock_openai.journal()
    assert [(e["scenario"], e["attempt"], e["faults"]) for e in entries] == [
        ("chat-stream-drop", 0, []),
        ("chat-stream-drop", 1, ["drop"]),
    ]

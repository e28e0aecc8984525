"""The realtime voice client of seed 003: its reconnect policy, its audio accounting, and whole
sessions over the SDK's realtime connection against the mock.

"WebSocket connection fails or drops frequently" must end in one reconnect with backoff, never a
tight loop; "Backend logs show audio chunks but no sound in frontend" must be reported as audio
that never plays, not passed off as silence.
"""

from __future__ import annotations

import base64
import time

import openai
import pytest
from openai.types.realtime import RealtimeServerEvent, SessionUpdatedEvent
from pydantic import TypeAdapter
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.http11 import Response

from harness.connectors.backoff import Backoff
from harness.connectors.health import CONNECT_FAILED, INVALID_KEY
from harness.connectors.realtime_audio import (
    DROPPED,
    AudioFormatError,
    PlaybackTimeline,
    decode_pcm16,
    encode_pcm16,
    pcm16_chunks,
    tone_pcm16,
)
from harness.connectors.realtime_backoff import ReconnectPolicy
from harness.connectors.realtime_client import (
    PCM_24K,
    RealtimeGaveUp,
    RealtimeSessionError,
    RealtimeVoiceClient,
    format_problem,
    retry_after_ms,
    session_config,
    should_reconnect,
)
from harness.connectors.realtime_health import check_realtime
from mockserver.web_runner import free_port

# -- the reconnect policy on its own ----------------------------------------------------------


def test_the_first_attempt_does_not_wait_and_later_waits_grow_up_to_the_cap():
    policy = ReconnectPolicy.of(initial_ms=100, max_ms=1000, max_attempts=8, jitter=0.25, seed=7)
    waits = [policy.delay_ms(n) for n in range(1, 9)]
    assert waits[0] == 0.0
    assert all(later > earlier for earlier, later in zip(waits[1:5], waits[2:5], strict=False)), waits
    assert all(w <= 1000 for w in waits), waits
    assert waits[-1] >= 1000 * 0.75


def test_jitter_spreads_waits_within_its_band_and_a_seed_replays_them():
    def waits(seed: int) -> list[float]:
        policy = ReconnectPolicy.of(initial_ms=200, max_ms=10_000, max_attempts=50, jitter=0.5, seed=seed)
        return [policy.delay_ms(2) for _ in range(40)]

    first = waits(1)
    assert all(100 <= w <= 200 for w in first), first
    assert len({round(w, 6) for w in first}) > 30  # not one fixed delay: clients do not come back in lockstep
    assert waits(1) == first
    assert waits(2) != first


def test_no_jitter_gives_the_plain_exponential_backoff():
    policy = ReconnectPolicy.of(initial_ms=250, max_ms=8000, max_attempts=10, jitter=0.0)
    assert [policy.delay_ms(n) for n in range(2, 9)] == [250, 500, 1000, 2000, 4000, 8000, 8000]


def test_attempts_are_capped_and_the_cap_counts_the_first_connection():
    policy = ReconnectPolicy.of(max_attempts=3)
    assert [policy.allows(n) for n in range(1, 5)] == [True, True, True, False]
    assert ReconnectPolicy(Backoff(max_retries=0)).max_attempts == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [({"max_attempts": 0}, "max_attempts"), ({"jitter": 1.0}, "jitter"), ({"initial_ms": -1}, ">= 0 ms")],
)
def test_a_bad_policy_is_refused_with_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReconnectPolicy.of(**kwargs)


# -- PCM16 input and output -------------------------------------------------------------------


def test_microphone_input_goes_out_as_20_ms_pcm16_chunks():
    pcm = tone_pcm16(110)
    assert len(pcm) == 2 * 2640  # 110 ms at 24 kHz, 2 bytes a sample
    chunks = pcm16_chunks(pcm)
    assert [len(c) for c in chunks] == [960] * 5 + [480]  # 480 samples = 20 ms; the rest 10 ms
    assert b"".join(chunks) == pcm
    assert decode_pcm16(encode_pcm16(chunks[0])) == chunks[0]
    assert any(chunks[0][i] for i in range(len(chunks[0])))  # a tone, not silence


@pytest.mark.parametrize(
    "delta, message",
    [("not base64!", "not valid base64"), (base64.b64encode(b"\x00\x01\x02").decode(), "whole number")],
)
def test_an_audio_delta_that_is_not_pcm16_is_a_clear_error(delta, message):
    with pytest.raises(AudioFormatError, match=message):
        decode_pcm16(delta)


def _delta(ms: float) -> str:
    return encode_pcm16(b"\x01\x00" * round(ms * 24))


def test_chunks_that_arrive_in_time_play_back_to_back_after_the_jitter_buffer():
    timeline = PlaybackTimeline(jitter_buffer_ms=80, lead_ms=20)
    timeline.start_response("resp_1")
    starts = [timeline.schedule("resp_1", _delta(100), now) for now in (0.0, 0.05, 0.10, 0.15)]
    assert starts == pytest.approx([0.08, 0.18, 0.28, 0.38])
    timeline.add_transcript("resp_1", "Hello there.")
    resp = timeline.finish_response("resp_1", "completed")
    assert (resp.chunks, resp.samples, resp.audio_ms, resp.underruns) == (4, 9600, 400.0, 0)
    assert resp.playable and not resp.silent
    assert timeline.queued_ms(0.2) == pytest.approx(280.0)  # queued until 0.48


def test_a_chunk_that_comes_after_the_buffer_ran_dry_is_an_underrun_with_its_gap():
    timeline = PlaybackTimeline(jitter_buffer_ms=80, lead_ms=20)
    timeline.start_response("resp_1")
    timeline.schedule("resp_1", _delta(100), 0.0)  # plays 0.08 .. 0.18
    start = timeline.schedule("resp_1", _delta(100), 0.5)  # arrives long after: re-primed at 0.58
    assert start == pytest.approx(0.58)
    assert timeline.underruns == 1
    assert timeline.gap_ms == pytest.approx(400.0)
    assert timeline.responses[0].underruns == 1


def test_a_response_with_a_transcript_but_no_audio_is_reported_as_never_playing():
    timeline = PlaybackTimeline()
    timeline.start_response("resp_1")
    timeline.add_transcript("resp_1", "You will never hear this.")
    resp = timeline.finish_response("resp_1", "completed")
    assert resp.silent and not resp.playable
    assert timeline.silent_responses == [resp]


def test_empty_and_invalid_deltas_are_counted_not_played():
    timeline = PlaybackTimeline()
    timeline.start_response("resp_1")
    assert timeline.schedule("resp_1", "", 0.0) is None
    assert timeline.schedule("resp_1", "%%%", 0.0) is None
    assert (timeline.empty_chunks, timeline.invalid_chunks, timeline.chunks) == (1, 1, 0)


def test_audio_after_the_session_closed_and_audio_cut_off_at_close_are_reported():
    timeline = PlaybackTimeline(jitter_buffer_ms=80, lead_ms=20)
    timeline.start_response("resp_1")
    timeline.schedule("resp_1", _delta(500), 0.0)  # plays 0.08 .. 0.58
    timeline.close(0.18)
    assert timeline.unplayed_ms_at_close == pytest.approx(400.0)
    assert timeline.schedule("resp_1", _delta(100), 0.2) is None
    assert (timeline.chunks_after_close, timeline.samples_after_close) == (1, 2400)
    assert timeline.chunks == 1


def test_audio_for_a_response_that_already_finished_is_counted_late_not_played():
    timeline = PlaybackTimeline()
    timeline.start_response("resp_1")
    timeline.schedule("resp_1", _delta(100), 0.0)
    timeline.finish_response("resp_1", "completed")
    assert timeline.schedule("resp_1", _delta(100), 0.1) is None
    assert (timeline.late_chunks, timeline.chunks, len(timeline.responses)) == (1, 1, 1)


def test_a_response_cut_off_by_a_drop_is_not_counted_as_finished():
    timeline = PlaybackTimeline()
    timeline.start_response("resp_1")
    timeline.schedule("resp_1", _delta(100), 0.0)
    timeline.add_transcript("resp_1", "Half a sen")
    assert [r.response_id for r in timeline.drop_unfinished()] == ["resp_1"]
    resp = timeline.responses[0]
    assert resp.status == DROPPED and not resp.finished and not resp.silent
    timeline.start_response("resp_1")  # the same id on a new connection is a new response
    assert len(timeline.responses) == 2 and timeline.responses[1].chunks == 0


# -- whole sessions over the SDK's realtime connection, against the mock ---------------------

TIME_SCALE = 0.02  # scenario time runs 50x faster: a 1 s backoff wait takes 20 ms
SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


@pytest.fixture(scope="module")
def mock_openai_server(mock_openai_server_factory):
    return mock_openai_server_factory(time_scale=TIME_SCALE, api_keys=["sk-test"])


@pytest.fixture
async def realtime_client(mock_openai):
    """A factory of SDK clients on this test's session, with a scenario or without."""
    clients: list[openai.AsyncOpenAI] = []

    def make(scenario: str | None = None, api_key: str = "sk-test") -> openai.AsyncOpenAI:
        clients.append(mock_openai.async_client(scenario, api_key=api_key))
        return clients[-1]

    yield make
    for c in clients:
        await c.close()


def voice(client: openai.AsyncOpenAI, **kwargs) -> RealtimeVoiceClient:
    policy = kwargs.pop("policy", None) or ReconnectPolicy.of(initial_ms=1000, max_attempts=4, seed=3)
    return RealtimeVoiceClient(client, model="gpt-realtime", policy=policy, time_scale=TIME_SCALE, **kwargs)


async def test_a_voice_session_configures_24khz_pcm_streams_the_microphone_and_plays_each_answer(
    realtime_client,
):
    raw: list[str] = []
    result = await voice(realtime_client(), on_event=lambda e: raw.append(e.to_json())).converse(
        [tone_pcm16(300), tone_pcm16(250)]
    )
    assert result.outcome == "complete"
    assert (len(result.attempts), result.reconnects, len(result.responses)) == (1, 0, 2)
    assert result.input_chunks == 15 + 13 and result.input_ms == pytest.approx(550.0)
    assert all(r.playable and r.transcript and r.status == "completed" for r in result.responses)
    assert result.audio_chunks == sum(r.chunks for r in result.responses) > 0
    assert result.audio_ms == pytest.approx(sum(r.audio_ms for r in result.responses), abs=0.1)
    assert result.transcript == "".join(r.transcript for r in result.responses)
    assert result.silent_responses == 0 and result.playback.chunks_after_close == 0
    assert result.playback.unplayed_ms_at_close == pytest.approx(0.0, abs=1.0)  # the tail played out
    events = [SERVER_EVENT.validate_json(r) for r in raw]  # every server event fits the SDK's types
    kinds = [e.type for e in events]
    assert kinds[0] == "session.created" and kinds[1] == "session.updated"
    assert kinds.count("response.done") == 2 and kinds.count("input_audio_buffer.committed") == 2
    updated = events[1].session
    assert (updated.audio.input.format.type, updated.audio.input.format.rate) == ("audio/pcm", 24000)
    assert (updated.audio.output.format.type, updated.audio.output.format.rate) == ("audio/pcm", 24000)
    assert updated.audio.input.turn_detection is None  # turns are committed by the client
    pcm = b"".join(decode_pcm16(e.delta) for e in events if e.type == "response.output_audio.delta")
    assert len(pcm) // 2 == result.playback.samples


async def test_a_connection_dropped_mid_answer_reconnects_once_with_backoff_and_completes(realtime_client):
    result = await voice(realtime_client("realtime-websocket-dropped")).converse([tone_pcm16(600)])
    assert result.outcome == "complete"
    assert [(a.connected, a.failure) for a in result.attempts] == [
        (True, "WebSocket closed without a close frame: code 1006"),
        (True, None),
    ]
    assert 800 <= result.attempts[1].waited_ms <= 1000  # 1 s backoff less up to 20 % jitter, scenario time
    assert [r.status for r in result.playback.responses] == [DROPPED, "completed"]
    assert result.transcript == "Sorry, the line dropped. Here is the whole answer again."
    assert result.audio_chunks == result.responses[0].chunks > 0  # the cut-off answer's audio is not counted


async def test_an_answer_without_audio_deltas_is_reported_as_never_playing(realtime_client):
    result = await voice(realtime_client("realtime-audio-never-plays")).converse([tone_pcm16(600)])
    assert result.outcome == "complete"
    (resp,) = result.responses
    assert resp.transcript == "You should be hearing this sentence right now."
    assert (resp.chunks, resp.playable, resp.silent) == (0, False, True)
    assert result.silent_responses == 1
    assert any("no playable audio" in e for e in result.errors), result.errors


async def test_a_connection_that_always_fails_gives_up_after_the_cap_in_bounded_time(realtime_client):
    client = voice(
        realtime_client("realtime-reconnect-loop"),
        policy=ReconnectPolicy.of(initial_ms=500, max_ms=2000, max_attempts=4, seed=1),
    )
    t0 = time.perf_counter()
    with pytest.raises(
        RealtimeGaveUp,
        match=r"gave up after 4 connection attempt\(s\) to gpt-realtime: last failure: WebSocket closed",
    ) as info:
        await client.converse([tone_pcm16(600)])
    elapsed_s = time.perf_counter() - t0
    result = info.value.result
    assert result.outcome == "gave_up" and len(result.attempts) == 4 and result.responses == []
    assert [a.failure for a in result.attempts][1] == "WebSocket upgrade refused with HTTP 503"
    waits = result.waits_ms
    assert waits[0] < waits[1] < waits[2] <= 2000, waits  # growing, capped: never a tight loop
    assert sum(waits) * TIME_SCALE / 1000 < elapsed_s < 5.0


async def test_a_refused_key_is_not_retried(realtime_client):
    with pytest.raises(
        RealtimeSessionError, match="WebSocket upgrade refused with HTTP 401; not retried"
    ) as info:
        await voice(realtime_client(api_key="sk-wrong")).converse([tone_pcm16(200)])
    assert len(info.value.result.attempts) == 1 and info.value.result.outcome == "error"


async def test_the_health_check_sees_a_session_created_or_says_why_not(realtime_client):
    ok = await check_realtime(realtime_client(), "gpt-realtime", timeout_s=5)
    assert ok.ok and ok.session_id and ok.message == "Realtime session created"
    bad_key = await check_realtime(realtime_client(api_key="sk-wrong"), "gpt-realtime", timeout_s=5)
    assert (bad_key.verdict, bad_key.message) == ("FAIL", INVALID_KEY)
    assert bad_key.detail == "WebSocket upgrade refused with HTTP 401"
    nowhere = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key="sk-test")
    refused = await check_realtime(nowhere, "gpt-realtime", timeout_s=5)
    await nowhere.close()
    assert (refused.verdict, refused.message) == ("FAIL", CONNECT_FAILED)


# -- the client's policy, one small piece at a time ------------------------------------------


def _refusal(status: int, **headers: str) -> InvalidStatus:
    return InvalidStatus(Response(status, "refused", Headers(headers)))


@pytest.mark.parametrize(
    "exc, reconnect",
    [
        (ConnectionClosedError(None, None), True),  # dropped without a close frame
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (_refusal(429), True),
        (_refusal(503), True),
        (_refusal(401), False),
        (_refusal(404), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_is_worth_a_new_connection(exc, reconnect):
    assert should_reconnect(exc) is reconnect


def test_a_refusals_retry_after_lengthens_the_wait_but_never_past_the_cap():
    assert retry_after_ms(_refusal(429, **{"retry-after-ms": "1500"})) == 1500
    assert retry_after_ms(_refusal(429, **{"retry-after": "2"})) == 2000
    assert retry_after_ms(_refusal(429)) is None and retry_after_ms(TimeoutError()) is None
    client = RealtimeVoiceClient(
        openai.AsyncOpenAI(api_key="sk-test"),
        policy=ReconnectPolicy.of(initial_ms=100, max_ms=4000, jitter=0),
    )
    assert client.wait_ms(1, 3000) == 0  # the first connection never waits
    assert client.wait_ms(2, 3000) == 3000
    assert client.wait_ms(2, 60_000) == 4000
    assert client.wait_ms(2, None) == 100


def test_the_session_asks_for_24khz_pcm_both_ways_and_a_mismatch_is_named():
    config = session_config("alloy")
    assert config["audio"]["input"]["format"] == config["audio"]["output"]["format"] == PCM_24K
    assert config["audio"]["input"]["turn_detection"] is None and config["output_modalities"] == ["audio"]
    ok = SessionUpdatedEvent.model_validate(
        {"type": "session.updated", "event_id": "e1", "session": {**config, "audio": config["audio"]}}
    )
    assert format_problem(ok.session) is None
    mismatched = {**config, "audio": {**config["audio"], "output": {"format": {"type": "audio/pcmu"}}}}
    bad = SessionUpdatedEvent.model_validate(
        {"type": "session.updated", "event_id": "e2", "session": mismatched}
    )
    assert (
        format_problem(bad.session)
        == "session output audio is audio/pcmu at None Hz; this client plays audio/pcm at 24000 Hz"
    )


async def test_a_turn_the_server_refuses_is_reported_and_not_retried(realtime_client):
    with pytest.raises(RealtimeSessionError, match="buffer too small") as info:
        await voice(realtime_client()).converse([tone_pcm16(50)])  # under the 100 ms a commit needs
    result = info.value.result
    assert result.outcome == "error" and len(result.attempts) == 1 and result.responses == []
    assert result.errors[0].startswith("error event: invalid_request_error (input_audio_buffer_commit_empty)")

"""The Realtime API over WebSocket (seed 003), through the official SDK's ``realtime.connect``.

Every server event is parsed by the SDK (``recv()``) and validated against its own union type
(``model_validate`` of the raw JSON); audio is PCM16 at 24 kHz that decodes to the samples the
transcript promises; the scenario faults reach WebSocket messages like any SSE stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import urllib.error
import urllib.request
from array import array

import openai
import pytest
from openai.types.realtime.realtime_error_event import RealtimeErrorEvent
from openai.types.realtime.response_done_event import ResponseDoneEvent
from realtime_events import recv, until, validated
from scenario_files import scenario_folder
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError, InvalidMessage, InvalidStatus

from harness.pytest_plugin import MockOpenAI
from mockserver.api import realtime_audio

MODEL = "gpt-realtime"
TOKENS = 8  # the fault scenarios' response: {tokens: 8}
USER_TEXT = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "Can you hear me?"}],
}


@pytest.fixture(scope="module")
def mock_openai_server(mock_openai_server_factory):
    return mock_openai_server_factory(time_scale=0.01)


async def settled(mock: MockOpenAI) -> list[dict]:
    """The session's journal once every connection in it has ended (the server notes a client's
    close a moment after the client has sent it)."""
    for _ in range(500):
        entries = mock.journal()
        if entries and all(e["ended"] for e in entries):
            return entries
        await asyncio.sleep(0.01)
    raise AssertionError(f"connections still open: {entries}")


def pcm_of(events: list) -> bytes:
    return b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta")


# --- a conversation, async and sync ------------------------------------------------------------


async def test_async_voice_turn_streams_audio_and_transcript_the_sdk_parses(mock_openai):
    async with mock_openai.async_client(max_retries=0).realtime.connect(model=MODEL) as conn:
        created = await conn.recv()
        assert created.type == "session.created" and created.session.model == MODEL
        assert created.session.audio.output.format.rate == 24_000
        await conn.conversation.item.create(item=USER_TEXT)
        await conn.response.create()
        events = await until(conn)
    types = [e.type for e in events]
    assert types[:6] == [
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    deltas = [t for t in types if t.endswith(".delta")]
    assert set(deltas) == {"response.output_audio.delta", "response.output_audio_transcript.delta"}
    assert "response.output_text.delta" not in types
    transcript = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
    assert transcript == next(
        e.transcript for e in events if e.type == "response.output_audio_transcript.done"
    )
    n_words = len(transcript.split())
    pcm = pcm_of(events)
    samples = array("h", pcm)
    assert len(pcm) % 2 == 0
    assert len(samples) == n_words * realtime_audio.MS_PER_TOKEN * 24_000 // 1000
    assert max(abs(s) for s in samples) > 1000  # a real waveform, not silence
    chunk_sizes = {len(base64.b64decode(e.delta)) for e in events if e.type == "response.output_audio.delta"}
    assert max(chunk_sizes) == 4800  # 100 ms of PCM16 at 24 kHz per delta
    done = events[-1]
    assert isinstance(done, ResponseDoneEvent) and done.response.status == "completed"
    assert done.response.usage.output_token_details.audio_tokens > 0
    assert done.response.output[0].content[0].transcript == transcript
    assert len({json.loads(e.model_dump_json())["event_id"] for e in events}) == len(events)


def test_sync_text_only_session_gets_output_text_deltas(mock_openai):
    with mock_openai.client(max_retries=0).realtime.connect(model=MODEL) as conn:
        assert conn.recv().type == "session.created"
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        updated = validated(conn.recv_bytes())
        assert updated.type == "session.updated" and updated.session.output_modalities == ["text"]
        conn.conversation.item.create(item=USER_TEXT)
        conn.response.create()
        events = []
        while not events or events[-1].type != "response.done":
            events.append(validated(conn.recv_bytes()))
    types = [e.type for e in events]
    assert "response.output_text.delta" in types and "response.output_text.done" in types
    assert not [t for t in types if "audio" in t]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[-1].response.output[0].content[0].text == text
    assert events[-1].response.output_modalities == ["text"]


async def test_content_is_deterministic_from_the_seed(mock_openai):
    transcripts = []
    for i in range(2):  # a session each: the same content, from the seed alone
        fresh = MockOpenAI(mock_openai.server, f"{mock_openai.session}-{i}")
        async with fresh.async_client(max_retries=0).realtime.connect(model=MODEL) as conn:
            await conn.recv()
            await conn.conversation.item.create(item=USER_TEXT)
            await conn.response.create()
            events = await until(conn)
        transcripts.append((events[-1].response.output[0].content[0].transcript, pcm_of(events)))
    assert transcripts[0] == transcripts[1]


# --- the input audio buffer ----------------------------------------------------------------------


async def test_input_audio_append_commit_and_clear(mock_openai):
    tone = array("h", (int(8000 * math.sin(2 * math.pi * 440 * i / 24_000)) for i in range(4800)))  # 200 ms
    audio = base64.b64encode(tone.tobytes()).decode()
    async with mock_openai.async_client(max_retries=0).realtime.connect(model=MODEL) as conn:
        await conn.recv()
        # turns committed by the client (the default, server VAD, would report the speech first)
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        await conn.recv()
        await conn.input_audio_buffer.append(audio=audio)
        await conn.input_audio_buffer.commit()
        committed, added, done = [await recv(conn) for _ in range(3)]
        assert committed.type == "input_audio_buffer.committed"
        assert (added.type, done.type) == ("conversation.item.added", "conversation.item.done")
        assert added.item.id == committed.item_id and added.item.content[0].type == "input_audio"
        await conn.input_audio_buffer.append(audio=audio)
        await conn.input_audio_buffer.clear()
        assert (await recv(conn)).type == "input_audio_buffer.cleared"
        await conn.input_audio_buffer.commit()  # the buffer is empty now
        err = await recv(conn)
        assert isinstance(err, RealtimeErrorEvent) and err.error.code == "input_audio_buffer_commit_empty"
        await conn.response.create()
        events = await until(conn)
    assert events[-1].response.usage.input_token_details.audio_tokens == 4  # 200 ms of input audio


# --- bad client events: the error event, and the connection stays open ---------------------------


async def test_malformed_client_events_get_error_events_and_the_connection_stays_open(mock_openai):
    async with mock_openai.async_client(max_retries=0).realtime.connect(model=MODEL) as conn:
        await conn.recv()
        raw = conn._connection  # the websocket under the SDK, to send what the SDK would refuse to
        await raw.send("{not json")
        await raw.send(json.dumps({"event_id": "evt_client_1", "audio": "AAAA"}))
        await raw.send(json.dumps({"type": "session.explode", "event_id": "evt_client_2"}))
        await raw.send(json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}))
        await raw.send(json.dumps({"type": "conversation.item.create", "item": {"type": "message"}}))
        errors = [await recv(conn) for _ in range(5)]
        assert all(isinstance(e, RealtimeErrorEvent) for e in errors)
        assert [e.error.code for e in errors] == [
            "invalid_json",
            "invalid_event",
            "invalid_value",
            "invalid_value",
            "missing_required_parameter",
        ]
        assert errors[1].error.message == "The 'type' field is missing."
        assert errors[1].error.event_id == "evt_client_1"
        assert errors[2].error.param == "type" and errors[2].error.event_id == "evt_client_2"
        assert errors[3].error.param == "audio"
        assert errors[4].error.param == "item.role"
        await conn.session.update(session={"type": "realtime", "instructions": "Be brief."})
        updated = await recv(conn)
        assert updated.type == "session.updated" and updated.session.instructions == "Be brief."


async def test_a_second_response_create_while_one_is_active_is_an_error(mock_openai):
    # the response waits out its 200 ms ttft (scaled to 100 ms), so the second create finds it active
    client = mock_openai.async_client(
        "realtime-no-audio", max_retries=0, default_headers={"X-Mock-Time-Scale": "0.5"}
    )
    async with client.realtime.connect(model=MODEL) as conn:
        await conn.recv()
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.response.create()
        await conn.response.create()
        events = await until(conn)
    errors = [e for e in events if e.type == "error"]
    assert [e.error.code for e in errors] == ["conversation_already_has_active_response"]
    assert events[-1].response.status == "completed"


# --- before the upgrade: auth, model, scenario ---------------------------------------------------


async def test_no_api_key_is_refused_with_401_before_the_upgrade(mock_openai):
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(mock_openai.base_url.replace("http", "ws") + f"/realtime?model={MODEL}"):
            pass
    response = info.value.response
    assert response.status_code == 401
    error = json.loads(response.body)["error"]
    assert error["code"] is None and error["message"].startswith("You didn't provide an API key.")


async def test_unknown_model_is_openais_404(mock_openai):
    with pytest.raises(InvalidStatus) as info:
        async with mock_openai.async_client(max_retries=0).realtime.connect(model="gpt-nope"):
            pass
    body = json.loads(info.value.response.body)
    assert info.value.response.status_code == 404 and body["error"]["code"] == "model_not_found"


async def test_scenario_by_path_prefix_and_refused_upgrade_with_429(mock_openai):
    client = openai.AsyncOpenAI(
        base_url=mock_openai.scenario_url("realtime-refused-429"),
        api_key="sk-test",
        max_retries=0,
        default_headers={"X-Mock-Session": mock_openai.session},
    )
    with pytest.raises(InvalidStatus) as info:
        async with client.realtime.connect(model=MODEL):
            pass
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert json.loads(info.value.response.body)["error"]["code"] == "rate_limit_exceeded"
    async with client.realtime.connect(model=MODEL) as conn:  # attempt 2: `then: ok`
        assert (await conn.recv()).type == "session.created"
    entries = mock_openai.journal()
    assert [(e["endpoint"], e["status"], e["attempt"], e["faults"]) for e in entries] == [
        ("realtime", 429, 1, ["http_error"]),
        ("realtime", 101, 2, []),
    ]


# --- faults on WebSocket messages ------------------------------------------------------------------


async def test_drop_closes_the_socket_without_a_close_frame(mock_openai):
    async with mock_openai.async_client("realtime-drop", max_retries=0).realtime.connect(model=MODEL) as conn:
        await conn.recv()
        await conn.response.create()
        received = []
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                received.append(await recv(conn))
    assert info.value.rcvd is None  # no close frame: the client reports 1006
    assert len(received) == 8 and "response.done" not in [e.type for e in received]
    (entry,) = await settled(mock_openai)
    assert (entry["endpoint"], entry["status"], entry["ended"], entry["faults"]) == (
        "realtime",
        101,
        "dropped",
        ["drop"],
    )
    assert entry["events_sent"] == 1 + 8 and entry["bytes_sent"] > 0


async def test_omit_leaves_no_audio_deltas_but_a_response_done(mock_openai):
    async with mock_openai.async_client("realtime-no-audio", max_retries=0).realtime.connect(
        model=MODEL
    ) as conn:
        await conn.recv()
        await conn.response.create()
        events = await until(conn)
    types = [e.type for e in events]
    assert "response.output_audio.delta" not in types
    assert types.count("response.output_audio_transcript.delta") == TOKENS
    assert events[-1].type == "response.done" and events[-1].response.status == "completed"


async def test_error_event_is_the_realtime_error_shape_and_the_connection_stays_open(mock_openai):
    async with mock_openai.async_client("realtime-error-event", max_retries=0).realtime.connect(
        model=MODEL
    ) as conn:
        await conn.recv()
        await conn.response.create()
        events = await until(conn, "error", "response.done")
        err = events[-1]
        assert isinstance(err, RealtimeErrorEvent)
        assert (err.error.type, err.error.code) == ("server_error", "server_error")
        assert len(events) == 7  # six events, then the error
        await conn.session.update(session={"type": "realtime"})
        assert (await recv(conn)).type == "session.updated"
    (entry,) = await settled(mock_openai)
    assert entry["ended"] == "complete" and entry["faults"] == ["error_event"]


async def test_timing_comes_from_the_scenario_through_the_clock(mock_openai):
    client = mock_openai.async_client(
        "realtime-no-audio", max_retries=0, default_headers={"X-Mock-Time-Scale": "0.5"}
    )
    async with client.realtime.connect(model=MODEL) as conn:
        await conn.recv()
        await conn.response.create()
        await until(conn)
    (entry,) = await settled(mock_openai)
    types, emit = entry["event_types"], entry["emit_ms"]
    first = types.index("response.output_audio_transcript.delta")
    timer_slack = 1.0  # event-loop timers (uvloop's) are kept to the millisecond
    assert emit[first] - emit[first - 1] >= 200 * 0.5 - timer_slack  # ttft_ms 200, scaled
    deltas = emit[first : first + TOKENS]
    assert types[first : first + TOKENS] == ["response.output_audio_transcript.delta"] * TOKENS
    gaps = [b - a for a, b in zip(deltas, deltas[1:], strict=False)]
    assert min(gaps) >= 20 * 0.5 - timer_slack  # inter_token_ms 20, scaled
    assert entry["ended"] == "complete" and entry["first_content_ms"] >= emit[first - 1]


async def test_parallel_sessions_do_not_interfere(mock_openai):
    async def one(handle: MockOpenAI) -> tuple[str, int]:
        async with handle.async_client("realtime-drop", max_retries=0).realtime.connect(model=MODEL) as conn:
            await conn.recv()
            await conn.response.create()
            try:
                await until(conn)
            except ConnectionClosedError:
                return "dropped", 0
        return "complete", 0

    sessions = [MockOpenAI(mock_openai.server, f"{mock_openai.session}-{i}") for i in range(4)]
    first = await asyncio.gather(*(one(s) for s in sessions))
    second = await asyncio.gather(*(one(s) for s in sessions))  # attempt 2 of each session: ok
    assert [f for f, _ in first] == ["dropped"] * 4
    assert [f for f, _ in second] == ["complete"] * 4
    for s in sessions:
        assert [e["attempt"] for e in s.journal()] == [1, 2]


# --- the cuts that leave no close frame: reset and truncate ------------------------------------------

CUTS = {
    "rt-test-reset": "{fault: reset, after_events: 3}",
    "rt-test-truncate": "{fault: truncate, after_events: 3}",
    "rt-test-reset-before-upgrade": "{fault: reset, after_events: 0}",
}


@pytest.fixture(scope="module")
def cut_mock(tmp_path_factory, mock_openai_server_factory):
    folder = scenario_folder(
        tmp_path_factory,
        {
            name: f"description: {name}.\nmatch: {{endpoint: realtime}}\nattempts:\n  - {fault}\nthen: ok\n"
            for name, fault in CUTS.items()
        },
    )
    return mock_openai_server_factory(scenario_paths=[folder], time_scale=0.01)


@pytest.fixture
def cut_openai(cut_mock, mock_openai) -> MockOpenAI:
    """This test's session on the mock with the cut scenarios."""
    return MockOpenAI(cut_mock, mock_openai.session)


@pytest.mark.parametrize(
    ("scenario", "ended"), [("rt-test-reset", "reset"), ("rt-test-truncate", "truncated")]
)
async def test_reset_and_truncate_cut_the_connection_mid_response(cut_openai, scenario, ended):
    async with cut_openai.async_client(scenario, max_retries=0).realtime.connect(model=MODEL) as conn:
        await conn.recv()
        await conn.response.create()
        received = []
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                received.append(await recv(conn))
    assert info.value.rcvd is None
    assert [e.type for e in received] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
    ]
    (entry,) = await settled(cut_openai)
    assert (entry["status"], entry["ended"]) == (101, ended)


async def test_reset_before_any_byte_refuses_the_upgrade(cut_openai):
    with pytest.raises(InvalidMessage, match="did not receive a valid HTTP response"):
        async with cut_openai.async_client("rt-test-reset-before-upgrade", max_retries=0).realtime.connect(
            model=MODEL
        ):
            pass
    (entry,) = await settled(cut_openai)
    assert (entry["endpoint"], entry["ended"], entry["faults"]) == ("realtime", "reset", ["reset"])


async def test_session_update_with_a_wrong_type_is_an_error_event(mock_openai):
    async with mock_openai.async_client(max_retries=0).realtime.connect(model=MODEL) as conn:
        await conn.recv()
        await conn._connection.send(
            json.dumps({"type": "session.update", "session": {"type": "realtime", "audio": 3}})
        )
        await conn._connection.send(
            json.dumps({"type": "session.update", "session": {"type": "transcription"}})
        )
        first, second = [await recv(conn) for _ in range(2)]
    assert (first.error.code, first.error.param) == ("invalid_type", "session.audio")
    assert (second.error.code, second.error.param) == ("invalid_value", "session.type")


def test_a_plain_get_without_the_upgrade_or_the_model_is_a_clear_400(mock_openai):
    def get(query: str) -> tuple[int, dict]:
        req = urllib.request.Request(
            f"{mock_openai.base_url}/realtime{query}", headers={"Authorization": "Bearer sk-test"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    status, body = get(f"?model={MODEL}")
    assert status == 400 and body["error"]["code"] == "websocket_required"
    status, body = get("")
    assert status == 400 and (body["error"]["code"], body["error"]["param"]) == (
        "missing_required_parameter",
        "model",
    )

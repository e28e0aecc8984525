"""The Realtime API's voice-app half through ``client.realtime.connect()``: server VAD turns and
its idle timeout, input audio transcription, function calls and their outputs, interrupting and
cancelling a response, out-of-band responses, and retrieving, truncating and deleting items. Every server event is validated
against the SDK's own union type; scenario faults reach function-call responses too."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from array import array
from pathlib import Path

import pytest
from realtime_events import recv, until
from scenario_files import scenario_folder
from websockets.exceptions import ConnectionClosedError

from harness.pytest_plugin import MockOpenAI
from mockserver.api import realtime_audio

FAULTS = Path(__file__).resolve().parent.parent / "scenarios" / "faults"
MODEL = "gpt-realtime"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}
ASK_WEATHER = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "What is the weather in Paris?"}],
}
HELLO = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}
MANUAL_TURNS = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
TEXT_ONLY = {**MANUAL_TURNS, "output_modalities": ["text"]}


def idle_after(ms: int, **vad) -> dict:
    return {
        "type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": ms, **vad}}},
    }


@pytest.fixture(scope="module")
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    folder = scenario_folder(
        tmp_path_factory,
        {
            "rt-slow-fault": "description: The slow fault on every response of the connection.\n"
            "match: {endpoint: realtime}\nfaults:\n  - {fault: slow, ttft_ms: 5000, inter_token_ms: 500}\n",
            "rt-slow": "description: A slow spoken answer, to interrupt.\n"
            "match: {endpoint: realtime}\nresponse: {ttft_ms: 20000, inter_token_ms: 20000, tokens: 8}\n",
            "rt-paced": "description: Short text answers that take a while, to overlap.\n"
            "match: {endpoint: realtime}\nresponse: {ttft_ms: 10000, inter_token_ms: 2000, tokens: 5}\n",
        },
    )
    return mock_openai_server_factory(scenario_paths=[str(FAULTS), folder], time_scale=0.01)


def connect(mock: MockOpenAI, scenario: str | None = None):
    return mock.async_client(scenario, max_retries=0).realtime.connect(model=MODEL)


def tone(ms: int, amplitude: int = 8000) -> bytes:
    n = realtime_audio.samples_for_ms(ms)
    return array("h", (int(amplitude * math.sin(2 * math.pi * 220 * i / 24_000)) for i in range(n))).tobytes()


def silence(ms: int) -> bytes:
    return bytes(realtime_audio.samples_for_ms(ms) * 2)


async def append(conn, pcm: bytes, chunk_ms: int = 100) -> None:
    size = realtime_audio.samples_for_ms(chunk_ms) * 2
    for i in range(0, len(pcm), size):
        await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + size]).decode())


async def opened(conn, update: dict | None = None):
    assert (await recv(conn)).type == "session.created"
    if update is None:
        return None
    await conn.session.update(session=update)
    updated = await recv(conn)
    assert updated.type == "session.updated"
    return updated.session


async def opened_update(conn, update: dict):
    await conn.session.update(session=update)
    updated = await recv(conn)
    assert updated.type == "session.updated"
    return updated.session


# --- server VAD --------------------------------------------------------------------------------


async def test_server_vad_turns_speech_into_a_committed_item_and_an_answer(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn)  # the default session: server_vad, create_response
        await append(conn, silence(200) + tone(500) + silence(300))
        started, stopped, committed, added, done = [await recv(conn) for _ in range(5)]
        assert started.type == "input_audio_buffer.speech_started"
        assert started.audio_start_ms == 0  # 200 ms in, minus the 300 ms prefix padding
        assert stopped.type == "input_audio_buffer.speech_stopped"
        assert stopped.audio_end_ms == 900  # the 500 ms of speech ended at 700, then 200 ms of silence
        assert started.item_id == stopped.item_id == committed.item_id == added.item.id == done.item.id
        assert (committed.type, added.type, done.type) == (
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        )
        events = await until(conn)  # the automatic response
        assert events[0].type == "response.created"
        assert events[-1].response.status == "completed"
        assert events[-1].response.usage.input_token_details.audio_tokens > 0


async def test_session_updated_echoes_the_turn_detection_that_was_set(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn, MANUAL_TURNS)
        vad = {"type": "server_vad", "silence_duration_ms": 400, "create_response": False}
        session = await opened_update(conn, {"type": "realtime", "audio": {"input": {"turn_detection": vad}}})
        turn = session.audio.input.turn_detection
        assert (turn.type, turn.silence_duration_ms, turn.create_response) == ("server_vad", 400, False)
        assert (turn.threshold, turn.prefix_padding_ms, turn.interrupt_response) == (0.5, 300, True)
        semantic = {"type": "semantic_vad", "eagerness": "high"}
        session = await opened_update(
            conn, {"type": "realtime", "audio": {"input": {"turn_detection": semantic}}}
        )
        assert session.audio.input.turn_detection.model_dump(exclude_none=True) == {
            "type": "semantic_vad",
            "eagerness": "high",
            "create_response": True,
            "interrupt_response": True,
        }
        await append(conn, tone(300) + silence(300))  # 200 ms of silence does not end a turn now
        await conn.input_audio_buffer.append(audio=base64.b64encode(silence(300)).decode())
        kinds = [(await recv(conn)).type for _ in range(3)]
        assert kinds == [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
        ]
        assert (await until(conn))[-1].response.status == "completed"  # the turn's answer


async def test_create_response_false_commits_without_answering(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn)
        vad = {"type": "server_vad", "create_response": False}
        await opened_update(conn, {"type": "realtime", "audio": {"input": {"turn_detection": vad}}})
        await append(conn, tone(300) + silence(300))
        events = [await recv(conn) for _ in range(5)]
        assert events[-1].type == "conversation.item.done"
        await conn.conversation.item.retrieve(item_id=events[-1].item.id)
        assert (await recv(conn)).type == "conversation.item.retrieved"  # no response came first


async def test_turn_detection_null_leaves_committing_to_the_client(mock_openai):
    async with connect(mock_openai) as conn:
        session = await opened(conn, MANUAL_TURNS)
        assert session.audio.input.turn_detection is None
        await append(conn, tone(500) + silence(500))
        await conn.input_audio_buffer.commit()
        first = await recv(conn)
        assert first.type == "input_audio_buffer.committed"  # nothing was detected before it


async def test_speech_while_answering_interrupts_the_response(mock_openai):
    async with connect(mock_openai, "rt-slow") as conn:
        await opened(conn)
        await conn.conversation.item.create(item=HELLO)
        await until(conn, "conversation.item.done")
        await conn.response.create()
        await until(conn, "response.content_part.added")  # the first word is 200 ms away
        await append(conn, tone(300))
        started, done = await recv(conn), await recv(conn)
        assert started.type == "input_audio_buffer.speech_started"
        assert done.type == "response.done" and done.response.status == "cancelled"
        assert done.response.status_details.reason == "turn_detected"


async def test_response_cancel_mid_response(mock_openai):
    async with connect(mock_openai, "rt-slow") as conn:
        await opened(conn, MANUAL_TURNS)
        await conn.response.create()
        await until(conn, "response.content_part.added")
        await conn.response.cancel()
        done = await recv(conn)
        assert done.type == "response.done" and done.response.status == "cancelled"
        assert done.response.status_details.reason == "client_cancelled"
        await conn.response.cancel()  # nothing active now
        assert (await recv(conn)).error.code == "response_cancel_not_active"


# --- input audio transcription -----------------------------------------------------------------


@pytest.mark.parametrize(("model", "usage"), [("gpt-4o-transcribe", "tokens"), ("whisper-1", "duration")])
async def test_input_audio_transcription_deltas_then_completed(mock_openai, model, usage):
    update = {
        "type": "realtime",
        "audio": {"input": {"transcription": {"model": model, "language": "en"}, "turn_detection": None}},
    }
    async with connect(mock_openai) as conn:
        session = await opened(conn, update)
        assert session.audio.input.transcription.model == model  # echoed as it was set
        assert session.audio.input.transcription.language == "en"
        await append(conn, tone(900))
        await conn.input_audio_buffer.commit()
        events = await until(conn, "conversation.item.input_audio_transcription.completed")
        kinds = [e.type for e in events]
        assert kinds[:3] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        deltas = [e for e in events if e.type == "conversation.item.input_audio_transcription.delta"]
        completed = events[-1]
        assert (
            len(deltas) == 3 and "".join(d.delta for d in deltas) == completed.transcript
        )  # 900 ms: 3 words
        assert {d.item_id for d in deltas} == {completed.item_id} and completed.content_index == 0
        assert completed.usage.type == usage
        await conn.conversation.item.retrieve(item_id=completed.item_id)
        retrieved = await recv(conn)
        assert retrieved.type == "conversation.item.retrieved"
        assert retrieved.item.content[0].transcript == completed.transcript


# --- function calling --------------------------------------------------------------------------


async def test_a_function_call_then_its_output_then_the_answer(mock_openai):
    async with connect(mock_openai) as conn:
        session = await opened(conn, {**MANUAL_TURNS, "tools": [WEATHER], "tool_choice": "auto"})
        assert [t.name for t in session.tools] == ["get_weather"]
        await conn.conversation.item.create(item=ASK_WEATHER)
        await until(conn, "conversation.item.done")
        await conn.response.create()
        events = await until(conn)
        kinds = [e.type for e in events]
        assert kinds[:3] == ["response.created", "response.output_item.added", "conversation.item.added"]
        assert kinds[-4:] == [
            "response.function_call_arguments.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
        deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
        args_done = events[-4]
        assert deltas and "".join(d.delta for d in deltas) == args_done.arguments
        assert args_done.name == "get_weather" and args_done.call_id.startswith("call_")
        arguments = json.loads(args_done.arguments)
        assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("c", "f")
        (item,) = events[-1].response.output
        assert (item.type, item.name, item.call_id, item.arguments, item.status) == (
            "function_call",
            "get_weather",
            args_done.call_id,
            args_done.arguments,
            "completed",
        )
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": item.call_id, "output": '{"temp": 21}'}
        )
        added = await recv(conn)
        assert added.type == "conversation.item.added" and added.item.type == "function_call_output"
        await recv(conn)
        await conn.response.create()
        answer = await until(conn)
        (message,) = answer[-1].response.output
        assert message.type == "message" and message.content[0].transcript  # spoken, with the result


@pytest.mark.parametrize(
    ("choice", "item", "called"),
    [
        ("auto", HELLO, False),  # nothing the tool is for
        ("required", HELLO, True),
        ({"type": "function", "name": "get_weather"}, HELLO, True),
        ("none", ASK_WEATHER, False),
    ],
)
async def test_tool_choice_decides_whether_the_model_calls(mock_openai, choice, item, called):
    async with connect(mock_openai) as conn:
        await opened(conn, {**MANUAL_TURNS, "output_modalities": ["text"]})
        await conn.conversation.item.create(item=item)
        await until(conn, "conversation.item.done")
        await conn.response.create(response={"tools": [WEATHER], "tool_choice": choice})
        events = await until(conn)
        (out,) = events[-1].response.output
        assert (out.type == "function_call") is called


async def test_bad_tools_are_error_events_and_the_connection_stays(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn)
        await conn.session.update(session={"type": "realtime", "tools": [{"type": "function"}]})
        err = await recv(conn)
        assert err.type == "error" and err.error.param == "session.tools[0].name"
        await conn.conversation.item.create(item={"type": "function_call_output", "output": "x"})
        err = await recv(conn)
        assert err.type == "error" and err.error.param == "item.call_id"


async def test_a_drop_mid_function_call_closes_without_a_close_frame(mock_openai):
    async with connect(mock_openai, "realtime-drop") as conn:
        await opened(conn, {**MANUAL_TURNS, "tools": [WEATHER], "tool_choice": "required"})
        await conn.response.create()
        with pytest.raises(ConnectionClosedError):
            await until(conn)


async def test_an_in_band_error_mid_function_call_keeps_the_connection(mock_openai):
    async with connect(mock_openai, "realtime-error-event") as conn:
        await opened(conn, {**MANUAL_TURNS, "tools": [WEATHER], "tool_choice": "required"})
        await conn.response.create()
        events = await until(conn, "error")
        assert events[-1].error.type == "server_error"
        await conn.conversation.item.retrieve(item_id="item_nope")  # still answering
        assert (await recv(conn)).error.code == "item_not_found"


async def test_a_slow_fault_paces_the_answer_to_a_detected_turn(mock_openai):
    async with connect(mock_openai, "rt-slow-fault") as conn:
        await opened(conn)
        await append(conn, tone(300) + silence(300))
        loop = asyncio.get_running_loop()
        await until(conn, "conversation.item.done")
        t0 = loop.time()
        events = await until(conn)
        assert events[-1].response.status == "completed"
        assert loop.time() - t0 >= 0.05  # 5 s to the first word at a time scale of 0.01


# --- items: retrieve, truncate, delete ---------------------------------------------------------


async def test_truncate_cuts_the_audio_and_the_words_not_heard(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn, MANUAL_TURNS)
        await conn.conversation.item.create(item=HELLO)
        await until(conn, "conversation.item.done")
        await conn.response.create()
        events = await until(conn)
        (item,) = events[-1].response.output
        transcript = item.content[0].transcript
        await conn.conversation.item.truncate(item_id=item.id, content_index=0, audio_end_ms=650)
        truncated = await recv(conn)
        assert truncated.type == "conversation.item.truncated"
        assert (truncated.item_id, truncated.content_index, truncated.audio_end_ms) == (item.id, 0, 650)
        await conn.conversation.item.retrieve(item_id=item.id)
        retrieved = await recv(conn)
        heard = retrieved.item.content[0].transcript
        assert heard == " ".join(transcript.split()[:2])  # 300 ms a word: two heard by 650 ms
        await conn.conversation.item.truncate(item_id=item.id, content_index=0, audio_end_ms=5000)
        err = await recv(conn)
        assert err.type == "error" and err.error.param == "audio_end_ms"
        assert err.error.message == "Audio content of 650ms is already shorter than 5000ms"  # as cut
        await conn.conversation.item.truncate(item_id="item_nope", content_index=0, audio_end_ms=0)
        assert (await recv(conn)).error.code == "item_not_found"
        await conn.conversation.item.delete(item_id=item.id)
        assert (await recv(conn)).type == "conversation.item.deleted"
        await conn.conversation.item.retrieve(item_id=item.id)
        assert (await recv(conn)).error.code == "item_not_found"


async def test_a_user_item_cannot_be_truncated(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn)
        await conn.conversation.item.create(item=HELLO)
        added = await recv(conn)
        await recv(conn)
        await conn.conversation.item.truncate(item_id=added.item.id, content_index=0, audio_end_ms=0)
        err = await recv(conn)
        assert err.type == "error" and err.error.code == "unsupported_content_type"
        assert err.error.message == "Only model output audio messages can be truncated"


# --- the server VAD's idle timeout ---------------------------------------------------------------


async def test_idle_timeout_after_an_answer_commits_the_silence_and_prompts_the_user(mock_openai):
    loop = asyncio.get_running_loop()
    async with connect(mock_openai) as conn:
        session = await opened(conn, {**idle_after(5000), "output_modalities": ["text"]})
        assert session.audio.input.turn_detection.idle_timeout_ms == 5000
        await conn.conversation.item.create(item=HELLO)
        await until(conn, "conversation.item.done")
        asked = loop.time()  # the answer ends after this, and the timeout counts from its end
        await conn.response.create()
        await until(conn)
        await append(conn, silence(300))  # the line stays quiet
        triggered = await recv(conn)
        waited = loop.time() - asked
        assert triggered.type == "input_audio_buffer.timeout_triggered"
        assert (triggered.audio_start_ms, triggered.audio_end_ms) == (0, 300)
        assert 0.05 <= waited < 5  # 5 s of silence at a time scale of 0.01
        committed, added, done = [await recv(conn) for _ in range(3)]
        assert committed.type == "input_audio_buffer.committed"
        assert committed.item_id == triggered.item_id == added.item.id == done.item.id
        assert added.item.role == "user" and added.item.content[0].type == "input_audio"
        events = await until(conn)  # the model prompts the user to go on
        assert events[0].type == "response.created" and events[0].response.conversation_id.startswith("conv_")
        (message,) = events[-1].response.output
        assert message.content[0].text == "Are you still there?"


async def test_idle_timeout_counts_from_the_end_of_the_answers_audio(mock_openai):
    loop = asyncio.get_running_loop()
    async with connect(mock_openai) as conn:
        await opened(conn, idle_after(5000))
        await conn.conversation.item.create(item=HELLO)
        await until(conn, "conversation.item.done")
        asked = loop.time()
        await conn.response.create()
        events = await until(conn)
        spoken = b"".join(
            base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
        )
        playback_s = len(spoken) / 2 / 24_000 * 0.01
        triggered = await recv(conn)
        assert triggered.type == "input_audio_buffer.timeout_triggered"
        assert loop.time() - asked >= 0.05 + playback_s
        assert playback_s > 0.03  # the answer's audio is part of the wait, not a rounding error
        assert [(await recv(conn)).type for _ in range(3)][0] == "input_audio_buffer.committed"
        assert (await until(conn))[-1].response.status == "completed"


async def test_speech_stops_the_idle_timer_until_the_next_answer(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn, {**idle_after(5000, create_response=False), "output_modalities": ["text"]})
        await conn.response.create()
        await until(conn)
        await append(conn, tone(300) + silence(300))  # the user answers within the timeout
        kinds = [(await recv(conn)).type for _ in range(5)]
        assert kinds[:2] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
        await asyncio.sleep(0.15)  # three times the (scaled) timeout
        await conn.conversation.item.retrieve(item_id="item_nope")
        nxt = await recv(conn)
        assert nxt.type == "error" and nxt.error.code == "item_not_found"  # no timeout came first


@pytest.mark.parametrize(("value", "words"), [(1000, "below minimum"), (60_000, "above maximum")])
async def test_an_idle_timeout_out_of_the_apis_range_is_an_error_event(mock_openai, value, words):
    async with connect(mock_openai) as conn:
        await opened(conn)
        await conn.session.update(session=idle_after(value))
        err = await recv(conn)
        assert err.type == "error" and err.error.param == "session.audio.input.turn_detection.idle_timeout_ms"
        assert words in err.error.message and str(value) in err.error.message


# --- out-of-band responses -----------------------------------------------------------------------


async def test_an_out_of_band_response_stays_out_of_the_conversation(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn, TEXT_ONLY)
        await conn.conversation.item.create(item=HELLO)
        hello = (await until(conn, "conversation.item.done"))[-1].item
        summarize = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Sum up"}]}
        await conn.response.create(
            response={
                "conversation": "none",
                "metadata": {"purpose": "summary"},
                "input": [{"type": "item_reference", "id": hello.id}, summarize],
            }
        )
        events = await until(conn)
        assert not [e.type for e in events if e.type.startswith("conversation.")]
        assert [e.type for e in events][:2] == ["response.created", "response.output_item.added"]
        created, done = events[0].response, events[-1].response
        assert created.conversation_id is None and done.conversation_id is None
        assert created.metadata == done.metadata == {"purpose": "summary"}
        (message,) = done.output
        assert done.status == "completed" and message.content[0].text
        assert done.usage.input_tokens == 3 + 2 + 2  # the two items it was given: "Hello there", "Sum up"
        await conn.conversation.item.retrieve(item_id=message.id)
        assert (await recv(conn)).error.code == "item_not_found"  # not in the conversation
        await conn.response.create()  # an ordinary response still joins it
        kinds = [e.type for e in await until(conn)]
        assert "conversation.item.added" in kinds and "conversation.item.done" in kinds


async def test_out_of_band_responses_play_beside_the_conversations_own(mock_openai):
    async with connect(mock_openai, "rt-paced") as conn:
        await opened(conn, TEXT_ONLY)
        await conn.response.create()
        await conn.response.create(response={"conversation": "none", "metadata": {"n": "1"}})
        await conn.response.create()  # a second one for the conversation must wait
        done: dict[str, object] = {}
        errors = []
        while len(done) < 2:
            event = await recv(conn)
            if event.type == "error":
                errors.append(event.error.code)
            elif event.type == "response.done":
                done[event.response.metadata and event.response.metadata.get("n") or "in-band"] = (
                    event.response
                )
        assert errors == ["conversation_already_has_active_response"]
        assert done["in-band"].conversation_id and done["1"].conversation_id is None
        assert done["in-band"].status == done["1"].status == "completed"


async def test_response_cancel_by_id_stops_an_out_of_band_response(mock_openai):
    async with connect(mock_openai, "rt-paced") as conn:
        await opened(conn, TEXT_ONLY)
        await conn.response.create(response={"conversation": "none"})
        created = await recv(conn)
        assert created.type == "response.created"
        await conn.response.cancel()  # no response id: the conversation's, and it has none
        assert (await until(conn, "error"))[-1].error.code == "response_cancel_not_active"
        await conn.response.cancel(response_id=created.response.id)
        events = await until(conn)
        assert events[-1].response.id == created.response.id and events[-1].response.status == "cancelled"


async def test_bad_out_of_band_requests_are_error_events(mock_openai):
    async with connect(mock_openai) as conn:
        await opened(conn, TEXT_ONLY)
        bad = [
            ({"conversation": "conv_other"}, "response.conversation"),
            (
                {"conversation": "none", "input": [{"type": "item_reference", "id": "item_x"}]},
                "response.input[0].id",
            ),
            (
                {"conversation": "none", "input": [{"type": "message", "role": "robot", "content": []}]},
                "response.input[0].role",
            ),
            ({"conversation": "none", "metadata": {"n": 1}}, "response.metadata"),
        ]
        for response, param in bad:
            await conn.send({"type": "response.create", "response": response})
            err = await recv(conn)
            assert err.type == "error" and err.error.param == param

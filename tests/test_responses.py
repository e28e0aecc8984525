"""The Responses API through the real SDK, sync and async: plain and streamed responses, tools,
the image_generation tool with partial images, stored responses and typed errors. Every payload
is validated with the SDK's own types."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import zlib

import httpx2
import openai
import pydantic
import pytest
from openai.types.responses import Response
from scenario_files import scenario_folder

from servekit.sse import SSEReader

SCENARIO_TEXT = "Hello from the mock scenario, word by word."
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    text = f"description: Responses say a fixed sentence.\nresponse: {{text: {json.dumps(SCENARIO_TEXT)}}}\n"
    folder = scenario_folder(tmp_path_factory, {"responses-fixed-text": text})
    return mock_openai_server_factory(scenario_paths=[folder])


def validated(event):
    """The event the SDK parsed, validated again (strictly) with the SDK's type for it."""
    return type(event).model_validate(event.to_dict())


def collapse(types: list[str]) -> list[str]:
    """Event types with runs of the same type collapsed to one."""
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


def png_pixels(b64: str) -> tuple[int, int, bytes]:
    """Width, height and the raw scanlines of a base64 PNG, checked chunk by chunk."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None and kind == b"IEND"
    width, height, depth, color = header[:4]
    raw = zlib.decompress(idat)
    channels = {2: 3, 6: 4}[color]
    assert depth == 8 and len(raw) == height * (1 + width * channels)
    return width, height, raw


# --- plain responses ----------------------------------------------------------------------------


def test_create_payload_validates_and_usage_counts_the_output(client):
    raw = client.responses.with_raw_response.create(model="gpt-4o", input="Say hello")
    body = json.loads(raw.http_response.text)
    response = Response.model_validate(body)
    assert response.status == "completed" and response.object == "response"
    assert response.id.startswith("resp_") and response.completed_at >= response.created_at
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert response.output_text and response.output_text == message.content[0].text
    usage = response.usage
    assert usage.output_tokens == len(response.output_text.split())
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert body["error"] is None and body["incomplete_details"] is None and body["tools"] == []
    for header in ("x-request-id", "openai-processing-ms", "openai-version", "x-ratelimit-limit-tokens"):
        assert raw.headers.get(header), header


def test_input_items_and_instructions(client):
    items = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "What is the weather?"}]},
        {"role": "assistant", "content": "Which city?"},
        {"type": "message", "role": "user", "content": "Paris"},
    ]
    listed = client.responses.create(model="gpt-4o-mini", input=items, instructions="You are terse.")
    plain = client.responses.create(model="gpt-4o-mini", input="Paris")
    other = client.responses.create(model="gpt-4o-mini", input="Tokyo")
    assert listed.instructions == "You are terse."
    assert listed.output_text == plain.output_text != other.output_text  # content keyed by the last user turn
    assert listed.usage.input_tokens > plain.usage.input_tokens


def test_scenario_response_block_shapes_the_answer(client):
    response = client.responses.create(
        model="gpt-4o", input="anything", extra_headers={"X-Mock-Scenario": "responses-fixed-text"}
    )
    assert response.output_text == SCENARIO_TEXT
    assert response.usage.output_tokens == len(SCENARIO_TEXT.split())


def test_max_output_tokens_ends_incomplete(client):
    response = client.responses.create(model="gpt-4o", input="Tell me a story", max_output_tokens=16)
    Response.model_validate(response.to_dict())
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert response.usage.output_tokens == 16 == len(response.output_text.split())
    assert response.completed_at is None

    events = list(
        client.responses.create(model="gpt-4o", input="Tell me a story", max_output_tokens=16, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert validated(events[-1]).response.incomplete_details.reason == "max_output_tokens"
    helper = client.responses.stream(model="gpt-4o", input="Tell me a story", max_output_tokens=16)
    with pytest.raises(RuntimeError, match="response.completed"), helper as stream:
        stream.get_final_response()


# --- streaming ----------------------------------------------------------------------------------


def test_stream_event_order_sequence_numbers_and_usage(client):
    events = list(client.responses.create(model="gpt-4o", input="Stream please", stream=True))
    for event in events:
        validated(event)
    assert collapse([e.type for e in events]) == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    final = events[-1].response
    assert "".join(deltas) == final.output_text == events[-3].part.text == events[-4].text
    assert final.usage.output_tokens == len(deltas)
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    item_ids = {getattr(e, "item_id", None) for e in events} - {None}
    assert item_ids == {final.output[0].id} == {events[2].item.id}


def test_stream_wire_format_names_every_event(client, mock_openai_server):
    r = httpx2.post(
        mock_openai_server.base_url + "/responses",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "gpt-4o", "input": "wire", "stream": True},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    reader = SSEReader()
    frames = reader.feed(r.content)
    assert "[DONE]" not in r.text and frames and not reader.pending
    for frame in frames:
        assert frame.event and frame.comment is None and "\n" not in frame.data  # event line, data line
        assert json.loads(frame.data)["type"] == frame.event


def test_stream_helper_final_text_equals_the_deltas(client):
    with client.responses.stream(model="gpt-4o", input="Say something") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    Response.model_validate(final.to_dict())
    assert final.output_text == "".join(deltas) and len(deltas) > 1


async def test_async_create_stream_and_helper(aclient):
    plain = await aclient.responses.create(model="gpt-4o", input="async hello")
    events = [
        e async for e in await aclient.responses.create(model="gpt-4o", input="async hello", stream=True)
    ]
    assert collapse([validated(e).type for e in events]) == TEXT_EVENTS
    async with aclient.responses.stream(model="gpt-4o", input="async hello") as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert plain.output_text == events[-1].response.output_text == final.output_text == "".join(deltas)


# --- tools and structured output ----------------------------------------------------------------


@pytest.mark.parametrize("tool_choice", [{"type": "function", "name": "get_weather"}, "required"])
def test_forced_function_tool_call_has_arguments_fitting_the_schema(client, tool_choice):
    response = client.responses.create(
        model="gpt-4o", input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice=tool_choice
    )
    Response.model_validate(response.to_dict())
    call = response.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.status == "completed"
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    args = json.loads(call.arguments)
    assert set(args) == {"city", "unit", "days"}
    assert (
        isinstance(args["city"], str) and args["unit"] in ("celsius", "fahrenheit") and 1 <= args["days"] <= 7
    )
    assert (
        response.tools[0].name == "get_weather" and response.tools[0].parameters == WEATHER_TOOL["parameters"]
    )


def test_streamed_function_call_arguments_add_up(client):
    events = list(
        client.responses.create(
            model="gpt-4o", input="Weather?", tools=[WEATHER_TOOL], tool_choice="required", stream=True
        )
    )
    for event in events:
        validated(event)
    assert collapse([e.type for e in events]) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert deltas == done.arguments == events[-1].response.output[0].arguments and done.name == "get_weather"
    assert events[-1].response.usage.output_tokens == sum(e.type.endswith("arguments.delta") for e in events)


def test_auto_tool_choice_answers_in_text(client):
    response = client.responses.create(model="gpt-4o", input="Just chat", tools=[WEATHER_TOOL])
    assert [item.type for item in response.output] == ["message"] and response.output_text


class Weather(pydantic.BaseModel):
    city: str
    temperature_c: float
    conditions: list[str]


def test_json_schema_text_format_parses_into_the_model(client):
    parsed = client.responses.parse(model="gpt-4o", input="Weather in Paris?", text_format=Weather)
    assert isinstance(parsed.output_parsed, Weather) and parsed.output_parsed.conditions
    assert parsed.text.format.type == "json_schema" and parsed.text.format.name == "Weather"


def test_json_object_text_format_is_json(client):
    response = client.responses.create(
        model="gpt-4o", input="JSON please", text={"format": {"type": "json_object"}}
    )
    assert isinstance(json.loads(response.output_text), dict) and response.text.format.type == "json_object"


async def test_a_hundred_concurrent_streams_each_get_their_own_answer(aclient):
    async def one(i: int) -> tuple[str, str]:
        events = [e async for e in await aclient.responses.create(model="gpt-4o", input=f"q{i}", stream=True)]
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert [e.sequence_number for e in events] == list(range(len(events)))
        return deltas, events[-1].response.output_text

    results = await asyncio.gather(*(one(i) for i in range(100)))
    assert all(deltas == final for deltas, final in results)
    assert len({final for _, final in results}) > 50


# --- the image_generation tool ------------------------------------------------------------------


def test_image_generation_tool_streams_partial_images_then_the_final_png(client):
    events = list(
        client.responses.create(
            model="gpt-4o",
            input="Draw a lighthouse at dusk",
            stream=True,
            tools=[{"type": "image_generation", "partial_images": 2}],
        )
    )
    for event in events:
        validated(event)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.completed",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    item = events[-2].item
    assert item.type == "image_generation_call" and item.status == "completed"
    partials = [e for e in events if e.type.endswith("partial_image")]
    assert [p.partial_image_index for p in partials] == [0, 1]
    assert all(p.item_id == item.id and p.output_index == 0 and p.size == "1024x1024" for p in partials)
    assert events[2].item.result is None and events[2].item.status == "in_progress"
    final = png_pixels(item.result)
    assert final[:2] == (1024, 1024)
    images = [png_pixels(p.partial_image_b64) for p in partials] + [final]
    assert len({raw for _, _, raw in images}) == 3  # each partial differs, and from the final
    assert events[-1].response.output[0].result == item.result
    tool = events[-1].response.tools[0]
    assert tool.type == "image_generation" and tool.partial_images == 2


async def test_image_generation_tool_without_streaming_returns_the_image(aclient):
    response = await aclient.responses.create(
        model="gpt-4o", input="A red bicycle", tools=[{"type": "image_generation", "size": "1536x1024"}]
    )
    Response.model_validate(response.to_dict())
    call = response.output[0]
    assert call.type == "image_generation_call" and call.status == "completed"
    assert png_pixels(call.result)[:2] == (1536, 1024) and call.size == "1536x1024"


# --- stored responses ---------------------------------------------------------------------------


def test_stored_response_is_retrievable_then_deleted(client):
    created = client.responses.create(model="gpt-4o", input="remember me")
    fetched = client.responses.retrieve(created.id)
    Response.model_validate(fetched.to_dict())
    assert (
        fetched.id == created.id
        and fetched.output_text == created.output_text
        and fetched.status == "completed"
    )
    follow_up = client.responses.create(model="gpt-4o", input="and then?", previous_response_id=created.id)
    assert follow_up.previous_response_id == created.id
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_unstored_response_is_not_retrievable(client):
    created = client.responses.create(model="gpt-4o", input="forget me", store=False)
    assert created.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


# --- errors -------------------------------------------------------------------------------------


def test_unknown_model_is_400_model_not_found(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-9-imaginary", input="hi")
    assert exc.value.code == "model_not_found" and exc.value.param == "model"


async def test_unknown_response_id_is_404(aclient):
    with pytest.raises(openai.NotFoundError) as exc:
        await aclient.responses.retrieve("resp_doesnotexist")
    assert exc.value.body["message"] == "Response with id 'resp_doesnotexist' not found."
    with pytest.raises(openai.NotFoundError):
        await aclient.responses.cancel("resp_doesnotexist")
    with pytest.raises(openai.NotFoundError):
        await aclient.responses.delete("resp_doesnotexist")
    with pytest.raises(openai.NotFoundError) as exc:
        await aclient.responses.create(model="gpt-4o", input="hi", previous_response_id="resp_gone")
    assert exc.value.param == "previous_response_id"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"model": None, "input": "hi"}, "model"),
        ({"model": "gpt-4o"}, "input"),
        ({"model": "gpt-4o", "input": 42}, "input"),
        ({"model": "gpt-4o", "input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
        ({"model": "gpt-4o", "input": [{"role": "user"}]}, "input[0].content"),
        ({"model": "gpt-4o", "input": "hi", "max_output_tokens": 5}, "max_output_tokens"),
        ({"model": "gpt-4o", "input": "hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        (
            {"model": "gpt-4o", "input": "hi", "tools": [{"type": "image_generation", "partial_images": 4}]},
            "tools[0].partial_images",
        ),
        ({"model": "gpt-4o", "input": "hi", "tools": [{"type": "teleport"}]}, "tools[0].type"),
        (
            {
                "model": "gpt-4o",
                "input": "hi",
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "name": "other"},
            },
            "tool_choice",
        ),
        (
            {"model": "gpt-4o", "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}},
            "text.format.schema",
        ),
        ({"model": "gpt-4o", "input": "hi", "background": True, "store": False}, "store"),
    ],
)
def test_bad_request_is_400_naming_param(client, kwargs, param):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(**kwargs)
    assert exc.value.param == param
    assert exc.value.body["type"] == "invalid_request_error" and exc.value.message

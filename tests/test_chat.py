"""Chat completions through the real SDK, sync and async, validated with the SDK's own types."""

from __future__ import annotations

import json

import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from servekit.sse import SSEReader

MSG = [{"role": "user", "content": "Say hello"}]


def test_non_streaming_payload_validates_and_usage_counts_tokens(client):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSG)
    body = json.loads(raw.http_response.text)
    completion = ChatCompletion.model_validate(body)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant" and choice.message.content
    assert completion.usage.completion_tokens == len(choice.message.content.split())
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    for header in (
        "x-request-id",
        "openai-processing-ms",
        "openai-version",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-tokens",
    ):
        assert raw.headers.get(header), header


def test_content_is_deterministic_for_the_same_request(client):
    a = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    b = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    c = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Other"}])
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.choices[0].message.content != c.choices[0].message.content


def test_stream_wire_format_matches_openai(client, mock_openai_server):
    import httpx2

    r = httpx2.post(
        mock_openai_server.base_url + "/chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "gpt-4o", "messages": MSG, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    reader = SSEReader()
    frames = reader.feed(r.content)
    assert not reader.pending  # the stream ends on a frame's end
    # bare data frames, one data line each: no event names, no comments
    assert all(f.event is None and f.comment is None and "\n" not in f.data for f in frames)
    assert frames[-1].data == "[DONE]"
    chunks = [json.loads(f.data) for f in frames[:-1]]
    for c in chunks:
        ChatCompletionChunk.model_validate(c)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-2]["choices"][0]["delta"] == {} and chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert all(c.choices for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    full = client.chat.completions.create(model="gpt-4o", messages=MSG).choices[0].message.content
    assert text == full


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_token_limit_ends_in_finish_reason_length(client, param):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSG, **{param: 3})
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 3
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True, **{param: 3})
    )
    assert chunks[-1].choices[0].finish_reason == "length"
    assert sum(1 for c in chunks if c.choices[0].delta.content) == 3


class Weather(pydantic.BaseModel):
    city: str
    days: int
    unit: str = pydantic.Field(json_schema_extra={"enum": ["c", "f"]})


def test_forced_tool_call_has_json_arguments_fitting_the_schema(client):
    tool = openai.pydantic_function_tool(Weather)
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=MSG,
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "Weather"}},
    )
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "stop"  # forced by name: the real API says "stop"
    assert call.function.name == "Weather" and call.id.startswith("call_")
    Weather.model_validate_json(call.function.arguments)


def test_stream_helper_with_a_tool_call_parses_the_arguments(client):
    with client.chat.completions.stream(
        model="gpt-4o", messages=MSG, tools=[openai.pydantic_function_tool(Weather)], tool_choice="required"
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.done" in kinds
    parsed = final.choices[0].message.tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, Weather)


def test_structured_output_parse(client):
    r = client.chat.completions.parse(model="gpt-4o", messages=MSG, response_format=Weather)
    assert isinstance(r.choices[0].message.parsed, Weather)


def test_stream_helper_text_equals_deltas(client):
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MSG) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert deltas and deltas == final.choices[0].message.content


async def test_async_stream_and_create(aclient):
    stream = await aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    r = await aclient.chat.completions.create(model="gpt-4o", messages=MSG)
    assert text == r.choices[0].message.content
    async with aclient.chat.completions.stream(model="gpt-4o", messages=MSG) as s:
        final = await s.get_final_completion()
    assert final.choices[0].message.content == text


def test_n_choices(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSG, n=2)
    assert [c.index for c in r.choices] == [0, 1]
    assert r.choices[0].message.content != r.choices[1].message.content

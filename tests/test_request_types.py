"""Wrong types, wrong enum values and unknown fields get the real API's 400 naming the field,
checked against the request types the openai package ships (not written check by check)."""

from __future__ import annotations

import openai
import pytest

MSG = [{"role": "user", "content": "hi"}]

CHAT = {
    "a string for a boolean": (
        {"logprobs": "x"},
        "logprobs",
        "Invalid type for 'logprobs': expected a boolean, but got a string instead.",
    ),
    "'true' is still a string": ({"logprobs": "true"}, "logprobs", "expected a boolean"),
    "a string for a number": ({"temperature": "hot"}, "temperature", "expected a number"),
    "an enum value that is not one": (
        {"reasoning_effort": "extreme"},
        "reasoning_effort",
        "Invalid value: 'extreme'.",
    ),
    "a nested enum value that is not one": (
        {"web_search_options": {"search_context_size": "huge"}},
        "web_search_options.search_context_size",
        "Invalid value: 'huge'.",
    ),
    "an unknown field": ({"foo": 1}, "foo", "Unrecognized request argument supplied: foo"),
}


@pytest.mark.parametrize(("extra", "param", "message"), CHAT.values(), ids=CHAT.keys())
def test_chat_refuses_what_the_api_refuses(mock_openai, extra, param, message):
    client = mock_openai.client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_body=extra)
    assert caught.value.param == param and message in caught.value.message


RESPONSES = {
    "a tools item that is not a tool": ({"tools": [{"type": "wand"}]}, "tools[0].type"),
    "a number for a string": ({"instructions": 5}, "instructions"),
    "an unknown field": ({"colour": "blue"}, "colour"),
}


@pytest.mark.parametrize(("extra", "param"), RESPONSES.values(), ids=RESPONSES.keys())
def test_responses_refuses_what_the_api_refuses(mock_openai, extra, param):
    client = mock_openai.client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o-mini", input="hi", extra_body=extra)
    assert caught.value.param == param


def test_what_the_sdk_sends_and_the_api_takes_still_passes(mock_openai):
    client = mock_openai.client(max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "developer", "content": "be brief"}, *MSG],
        temperature=0.2,
        logprobs=True,
        top_logprobs=2,
        stream_options=None,
        metadata={"k": "v"},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    )
    assert reply.choices[0].message
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}  # no detail
    answer = client.responses.create(
        model="gpt-4o-mini",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}, image]}],
    )
    assert answer.status == "completed"


def test_images_refuse_what_the_api_refuses(mock_openai):
    client = mock_openai.client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-1", prompt="a cat", extra_body={"style_preset": "noir"})
    assert caught.value.param == "style_preset"

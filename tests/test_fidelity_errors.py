"""Round-2 fidelity through the real SDK: finish reasons of tool calls, the Responses API's
unknown-model 400, and the 401 bodies for a missing and for a wrong API key."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from mockserver.errors import mask_key

MSG = [{"role": "user", "content": "Weather in Paris?"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
NAMED = {"type": "function", "function": {"name": "get_weather"}}
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)


# --- finish_reason of a tool call ------------------------------------------------------------


@pytest.mark.parametrize(("tool_choice", "finish"), [(NAMED, "stop"), ("required", "tool_calls")])
def test_tool_call_finish_reason_follows_how_it_was_asked_for(client, tool_choice, finish):
    r = client.chat.completions.create(model="gpt-4o", messages=MSG, tools=[TOOL], tool_choice=tool_choice)
    ChatCompletion.model_validate(r.to_dict())
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert r.choices[0].finish_reason == finish


@pytest.mark.parametrize(("tool_choice", "finish"), [(NAMED, "stop"), ("required", "tool_calls")])
def test_streamed_tool_call_finish_reason_follows_how_it_was_asked_for(client, tool_choice, finish):
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MSG, tools=[TOOL], tool_choice=tool_choice, stream=True
    )
    chunks = [ChatCompletionChunk.model_validate(c.to_dict()) for c in stream]
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] == finish and set(reasons[:-1]) == {None}


def test_stream_helper_with_a_named_tool_still_parses_the_call(client):
    with client.chat.completions.stream(
        model="gpt-4o", messages=MSG, tools=[TOOL], tool_choice=NAMED
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.done" in kinds
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.tool_calls[0].function.arguments.startswith("{")


def test_auto_without_a_tool_call_stops(client):
    joke = [{"role": "user", "content": "Tell me a joke"}]  # nothing the weather tool is for
    r = client.chat.completions.create(model="gpt-4o", messages=joke, tools=[TOOL], tool_choice="auto")
    assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "stop"


def test_auto_with_a_tool_call_ends_tool_calls(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MSG, tools=[TOOL], tool_choice="auto")
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert r.choices[0].finish_reason == "tool_calls"


# --- unknown model ---------------------------------------------------------------------------


def test_responses_unknown_model_is_a_400_naming_model(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-9-imaginary", input="hi")
    assert exc.value.status_code == 400
    assert exc.value.body == {
        "message": "The requested model 'gpt-9-imaginary' does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_streamed_and_background_responses_unknown_model_are_400_too(client):
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-9-imaginary", input="hi", stream=True)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-9-imaginary", input="hi", background=True)


def test_chat_and_models_keep_their_404(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="gpt-9-imaginary", messages=MSG)
    assert exc.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9-imaginary")


# --- API keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}])
def test_no_api_key_is_401_with_the_real_message_and_no_code(mock_openai_server, headers):
    r = httpx2.post(mock_openai_server.base_url + "/chat/completions", json={}, headers=headers)
    assert r.status_code == 401
    assert r.json() == {
        "error": {"message": NO_KEY_MESSAGE, "type": "invalid_request_error", "param": None, "code": None}
    }


def test_the_sdk_raises_authentication_error_for_no_key(mock_openai_server):
    # the SDK refuses to start without a key: send one it does not put in the header
    client = openai.OpenAI(base_url=mock_openai_server.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.models.list(extra_headers={"Authorization": openai.Omit()})
    assert exc.value.code is None and exc.value.body["message"] == NO_KEY_MESSAGE


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789abcd", "sk-proj-" + "*" * 36 + "abcd"),
        ("sk-PMafP" + "x" * 39 + "E873", "sk-PMafP" + "*" * 39 + "E873"),
        ("YOUR_OPENAI_KEY", "YOUR_OPE***_KEY"),
        ("sk jj", "sk jj"),
    ],
)
def test_keys_are_masked_as_the_real_api_masks_them(key, shown):
    assert mask_key(key) == shown


def test_a_wrong_key_is_401_invalid_api_key_with_the_key_masked(mock_openai_server_factory):
    key = "sk-proj-wrongwrongwrongwrongwrongabcd"
    mock = mock_openai_server_factory(api_keys=["sk-good"])
    bad = openai.OpenAI(base_url=mock.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.chat.completions.create(model="gpt-4o", messages=MSG)
    good = openai.OpenAI(base_url=mock.base_url, api_key="sk-good", max_retries=0)
    assert good.models.list().data
    assert exc.value.code == "invalid_api_key" and exc.value.param is None
    assert exc.value.body["type"] == "invalid_request_error"
    assert exc.value.body["message"] == (
        "Incorrect API key provided: sk-proj-" + "*" * (len(key) - 12) + "abcd. "
        "You can find your API key at https://platform.openai.com/account/api-keys."
    )

"""``tool_choice: "auto"`` (or none given, with tools): the model calls the function the last user
message mentions and answers in text otherwise — in Chat Completions and Responses, streamed and
not, through the real SDK's types and its stream helpers. The rule is ``mockserver.api.tool_pick``'s."""

from __future__ import annotations

import json

import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from mockserver.api.tool_pick import mentioned, name_words


class GetWeather(pydantic.BaseModel):
    """Current weather for a city."""

    city: str
    unit: str = pydantic.Field(json_schema_extra={"enum": ["celsius", "fahrenheit"]})


class SearchFlights(pydantic.BaseModel):
    """Flights between two airports."""

    origin: str
    destination: str
    passengers: int = pydantic.Field(ge=1, le=9)


CHAT_TOOLS = [openai.pydantic_function_tool(GetWeather), openai.pydantic_function_tool(SearchFlights)]
RESPONSES_TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": GetWeather.model_json_schema(),
    },
    {
        "type": "function",
        "name": "search_flights",
        "description": "Flights between two airports.",
        "parameters": SearchFlights.model_json_schema(),
    },
]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message", "called"),
    [
        ("get_weather", "What's the weather in Paris?", True),
        ("getWeather", "WEATHER in Paris, please", True),
        ("search_flights", "Any flight to Rome tomorrow?", True),  # a plural "s" is ignored
        ("get_weather", "Get me a taxi", False),  # "get" is a verb every tool has
        ("run", "run the tests", True),  # a name of only such verbs is matched by them
        ("get_weather", "Tell me a joke", False),
    ],
)
def test_a_function_is_mentioned_by_a_word_of_its_name(name, message, called):
    assert mentioned(name, message.lower().replace("?", " ").replace(",", " ").split()) is called
    assert name_words("get_current_weather") == ["current", "weather"]


# --- Chat Completions --------------------------------------------------------------------------


@pytest.mark.parametrize("tool_choice", ["auto", openai.omit])
def test_chat_calls_the_function_the_user_asks_for(client, tool_choice):
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=user("Find me flights from SFO to JFK for two"),
        tools=CHAT_TOOLS,
        tool_choice=tool_choice,
    )
    ChatCompletion.model_validate(r.to_dict())
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"  # the model chose to call: not "stop"
    assert choice.message.content is None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "SearchFlights" and call.id.startswith("call_")
    args = SearchFlights.model_validate_json(call.function.arguments)
    assert 1 <= args.passengers <= 9


def test_chat_answers_in_text_when_no_tool_is_mentioned(client):
    r = client.chat.completions.create(model="gpt-4o", messages=user("Tell me a joke"), tools=CHAT_TOOLS)
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content


def test_chat_answers_the_tools_result_in_text(client):
    first = client.chat.completions.create(
        model="gpt-4o", messages=user("What's the weather in Paris?"), tools=CHAT_TOOLS
    )
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "GetWeather"
    messages = [
        *user("What's the weather in Paris?"),
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 21}'},
    ]
    second = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    assert second.choices[0].finish_reason == "stop" and second.choices[0].message.content


def test_chat_tool_choice_none_never_calls(client):
    r = client.chat.completions.create(
        model="gpt-4o", messages=user("What's the weather in Paris?"), tools=CHAT_TOOLS, tool_choice="none"
    )
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.tool_calls is None


def test_chat_stream_helper_parses_the_chosen_call(client):
    with client.chat.completions.stream(
        model="gpt-4o", messages=user("What's the weather in Paris?"), tools=CHAT_TOOLS
    ) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert [e.name for e in done] == ["GetWeather"] and isinstance(done[0].parsed_arguments, GetWeather)
    assert not any(e.type == "content.delta" for e in events)
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert isinstance(choice.message.tool_calls[0].function.parsed_arguments, GetWeather)
    assert choice.message.tool_calls[0].function.arguments == done[0].arguments


def test_chat_stream_in_text_when_nothing_is_mentioned(client):
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=user("Tell me a joke"), tools=CHAT_TOOLS, stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].delta.tool_calls is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks)


# --- Responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tool_choice", ["auto", openai.omit])
def test_responses_calls_the_function_the_user_asks_for(client, tool_choice):
    r = client.responses.create(
        model="gpt-4o", input="Is the weather nice in Lisbon?", tools=RESPONSES_TOOLS, tool_choice=tool_choice
    )
    Response.model_validate(r.to_dict())
    assert [item.type for item in r.output] == ["function_call"] and r.tool_choice == "auto"
    call = r.output[0]
    assert call.name == "get_weather" and call.status == "completed" and call.call_id.startswith("call_")
    GetWeather.model_validate_json(call.arguments)
    assert r.output_text == ""


def test_responses_answer_the_output_in_text(client):
    first = client.responses.create(model="gpt-4o", input="Book flights to Rome", tools=RESPONSES_TOOLS)
    call = first.output[0]
    assert call.type == "function_call" and call.name == "search_flights"
    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"flights": 3}'}],
        tools=RESPONSES_TOOLS,
    )
    assert [item.type for item in second.output] == ["message"] and second.output_text


def test_responses_stream_helper_gives_the_chosen_call(client):
    with client.responses.stream(
        model="gpt-4o", input="What's the weather in Oslo?", tools=RESPONSES_TOOLS
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    for event in events:
        type(event).model_validate(event.to_dict())
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == done.arguments == final.output[0].arguments
    assert json.loads(done.arguments).keys() == {"city", "unit"}
    assert [item.type for item in final.output] == ["function_call"] and final.output[0].name == "get_weather"
    assert not any(e.type == "response.output_text.delta" for e in events)


def test_responses_stream_in_text_when_nothing_is_mentioned(client):
    with client.responses.stream(model="gpt-4o", input="Tell me a joke", tools=RESPONSES_TOOLS) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["message"] and final.output_text == deltas != ""


# --- a tool_choice the API refuses -------------------------------------------------------------

CHAT_REFUSALS = [
    (
        "sometimes",
        CHAT_TOOLS,
        "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
    ),
    (
        "required",
        None,
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
    ),
    (7, CHAT_TOOLS, None),
]
RESPONSES_REFUSALS = [
    (
        "sometimes",
        RESPONSES_TOOLS,
        "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
    ),
    ("required", None, "Tool choice 'required' must be specified with 'tools' parameter."),
    (7, RESPONSES_TOOLS, None),
]


@pytest.mark.parametrize(("tool_choice", "tools", "message"), CHAT_REFUSALS)
def test_chat_refuses_a_bad_tool_choice_naming_it(client, tool_choice, tools, message):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="gpt-4o", messages=user("hi"), tool_choice=tool_choice, tools=tools or openai.omit
        )
    assert exc.value.param == "tool_choice"
    if message is not None:
        assert exc.value.body["message"] == message


@pytest.mark.parametrize(("tool_choice", "tools", "message"), RESPONSES_REFUSALS)
def test_responses_refuse_a_bad_tool_choice_naming_it(client, tool_choice, tools, message):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model="gpt-4o", input="hi", tool_choice=tool_choice, tools=tools or openai.omit
        )
    assert exc.value.param == "tool_choice"
    if message is not None:
        assert exc.value.body["message"] == message


# --- allowed_tools: the same rules over the tools it lists ----------------------------------------


def chat_allowed(mode: str, *names: str) -> dict:
    return {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": mode,
            "tools": [{"type": "function", "function": {"name": n}} for n in names],
        },
    }


@pytest.mark.parametrize(
    ("mode", "message", "called"),
    [
        ("auto", "Find me flights to Rome", "SearchFlights"),
        ("auto", "What's the weather in Rome?", None),  # GetWeather is offered, not allowed
        ("required", "Tell me a joke", "SearchFlights"),  # the first allowed
    ],
)
def test_chat_allowed_tools_narrow_what_the_model_may_call(client, mode, message, called):
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=user(message),
        tools=CHAT_TOOLS,
        tool_choice=chat_allowed(mode, "SearchFlights"),
    )
    ChatCompletion.model_validate(r.to_dict())
    choice = r.choices[0]
    if called is None:
        assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    else:
        assert choice.finish_reason == "tool_calls"  # chosen among the allowed: not forced by name
        assert [c.function.name for c in choice.message.tool_calls] == [called]


def test_chat_stream_helper_with_allowed_tools(client):
    with client.chat.completions.stream(
        model="gpt-4o",
        messages=user("Flights from SFO to JFK for two?"),
        tools=CHAT_TOOLS,
        tool_choice=chat_allowed("auto", "SearchFlights"),
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert isinstance(final.choices[0].message.tool_calls[0].function.parsed_arguments, SearchFlights)


def test_chat_allowed_tools_must_be_offered_and_have_a_mode(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="gpt-4o",
            messages=user("hi"),
            tools=CHAT_TOOLS,
            tool_choice=chat_allowed("auto", "BookHotel"),
        )
    assert exc.value.param == "tool_choice"
    assert (
        exc.value.body["message"]
        == "Invalid value for 'tool_choice': function 'BookHotel' is not in 'tools'."
    )
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="gpt-4o",
            messages=user("hi"),
            tools=CHAT_TOOLS,
            tool_choice=chat_allowed("often", "GetWeather"),
        )
    assert exc.value.param == "tool_choice.allowed_tools.mode"


@pytest.mark.parametrize(
    ("mode", "message", "called"),
    [
        ("auto", "Any flights to Rome?", "search_flights"),
        ("auto", "Is the weather nice in Lisbon?", None),
        ("required", "Tell me a joke", "search_flights"),
    ],
)
def test_responses_allowed_tools_narrow_what_the_model_may_call(client, mode, message, called):
    choice = {
        "type": "allowed_tools",
        "mode": mode,
        "tools": [{"type": "function", "name": "search_flights"}],
    }
    r = client.responses.create(model="gpt-4o", input=message, tools=RESPONSES_TOOLS, tool_choice=choice)
    Response.model_validate(r.to_dict())
    if called is None:
        assert [item.type for item in r.output] == ["message"] and r.output_text
    else:
        assert [(item.type, item.name) for item in r.output] == [("function_call", called)]
        SearchFlights.model_validate_json(r.output[0].arguments)
    assert r.tool_choice.type == "allowed_tools" and r.tool_choice.mode == mode


def test_responses_allowed_tools_must_be_offered(client):
    choice = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "book_hotel"}]}
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4o", input="hi", tools=RESPONSES_TOOLS, tool_choice=choice)
    assert exc.value.param == "tool_choice" and "no function named 'book_hotel'" in exc.value.body["message"]

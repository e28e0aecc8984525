"""LangChain's ``ChatOpenAI`` (langchain-openai) against the mock, as its users call it: invoke,
stream with usage, ``bind_tools`` (forced by name, and left to the model), ``with_structured_output``
(json_schema and function calling), ``use_responses_api=True``, a retried 429 and an in-band
stream error. Each test checks what LangChain returned and what it really sent (the journal).

langchain-openai comes with the ``clients`` extra (``pip install -e '.[clients]'``); marked
``langchain_client``, left out of the default run; ``.ci/run`` installs the extra and runs it.
"""

from __future__ import annotations

from typing import Any

import openai
import pydantic
import pytest

pytestmark = pytest.mark.langchain_client

MODEL = "gpt-4o-mini"


class Weather(pydantic.BaseModel):
    """The weather in a city, for a number of days."""

    city: str
    days: int = pydantic.Field(ge=1, le=7)


@pytest.fixture
def chat_openai():
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # a clear failure, not a skip: .ci/run installs the extra
        pytest.fail(f"langchain-openai is not installed (pip install -e '.[clients]'): {exc}")
    return ChatOpenAI


@pytest.fixture
def llm(chat_openai, mock_openai):
    def make(scenario: str | None = None, **kwargs: Any):
        kwargs.setdefault("max_retries", 0)
        return chat_openai(
            model=MODEL,
            base_url=mock_openai.base_url,
            api_key="sk-langchain",
            default_headers=mock_openai.headers(scenario),
            **kwargs,
        )

    return make


def sent(mock_openai) -> list[tuple[str, bool, list[str]]]:
    """What LangChain sent, request by request: endpoint, stream, the body's fields."""
    return [(e["endpoint"], e["stream"], e["body_fields"]) for e in mock_openai.journal()]


def test_the_installed_langchain_openai_is_a_current_one():
    from importlib.metadata import version

    major, minor = (int(p) for p in version("langchain-openai").split(".")[:2])
    assert (major, minor) >= (1, 7)


def test_invoke_returns_the_text_and_usage(llm, mock_openai):
    message = llm().invoke("Say hello")
    assert isinstance(message.content, str) and message.content.endswith(".")
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == MODEL
    usage = message.usage_metadata
    assert usage["output_tokens"] == len(message.content.split())
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert sent(mock_openai) == [("chat.completions", False, ["messages", "model", "stream"])]
    assert mock_openai.journal()[0]["user_agent"] == f"OpenAI/Python {openai.__version__}"


def test_stream_chunks_add_up_to_the_same_answer_with_usage(llm, mock_openai):
    text = llm().invoke("Say hello").content
    chunks = list(llm(stream_usage=True).stream("Say hello"))
    words = [c.content for c in chunks if c.content]
    assert "".join(words) == text and len(words) == len(text.split())  # one chunk per token
    total = sum(chunks[1:], chunks[0])
    assert total.usage_metadata["output_tokens"] == len(words)
    assert total.response_metadata["finish_reason"] == "stop"
    assert sent(mock_openai)[1] == (
        "chat.completions",
        True,
        ["messages", "model", "stream", "stream_options"],
    )
    assert mock_openai.journal()[1]["event_types"][-1] == "done"


def test_bind_tools_with_a_forced_tool_gives_arguments_fitting_the_schema(llm, mock_openai):
    message = llm().bind_tools([Weather], tool_choice="Weather").invoke("Any weather")
    (call,) = message.tool_calls
    assert call["name"] == "Weather" and call["id"].startswith("call_")
    Weather.model_validate(call["args"])
    assert message.response_metadata["finish_reason"] == "stop"  # forced by name, as the real API says
    assert sent(mock_openai) == [
        ("chat.completions", False, ["messages", "model", "stream", "tool_choice", "tools"])
    ]


def test_bind_tools_leaves_the_choice_to_the_model(llm, mock_openai):
    bound = llm().bind_tools([Weather])
    asked = bound.invoke("What's the weather in Paris this week?")
    assert [c["name"] for c in asked.tool_calls] == ["Weather"]
    assert asked.response_metadata["finish_reason"] == "tool_calls"
    Weather.model_validate(asked.tool_calls[0]["args"])
    chatted = bound.invoke("Tell me a joke")
    assert chatted.tool_calls == [] and chatted.content
    assert [fields for _, _, fields in sent(mock_openai)] == [["messages", "model", "stream", "tools"]] * 2


@pytest.mark.parametrize(
    ("method", "field"), [("json_schema", "response_format"), ("function_calling", "tool_choice")]
)
def test_with_structured_output_parses_into_the_model(llm, mock_openai, method, field):
    weather = llm().with_structured_output(Weather, method=method).invoke("Weather in Oslo")
    assert isinstance(weather, Weather) and 1 <= weather.days <= 7
    ((endpoint, _, fields),) = sent(mock_openai)
    assert endpoint == "chat.completions" and field in fields


def test_responses_api_invoke_and_stream(llm, mock_openai):
    chat_text = llm().invoke("Say hello").content
    responses = llm(use_responses_api=True)
    message = responses.invoke("Say hello")
    (block,) = message.content
    assert block["type"] == "text" and block["text"] == chat_text  # the same answer on both APIs
    assert message.response_metadata["status"] == "completed"
    assert message.response_metadata["id"].startswith("resp_")
    chunks = list(responses.stream("Say hello"))
    streamed = "".join(b["text"] for c in chunks for b in c.content if b.get("type") == "text")
    assert streamed == chat_text
    assert sent(mock_openai)[1:] == [
        ("responses", False, ["input", "model", "stream"]),
        ("responses", True, ["input", "model", "stream"]),
    ]
    assert mock_openai.journal()[2]["event_types"][-1] == "response.completed"


def test_responses_api_with_a_forced_tool(llm, mock_openai):
    message = llm(use_responses_api=True).bind_tools([Weather], tool_choice="Weather").invoke("Any weather")
    (call,) = message.tool_calls
    assert call["name"] == "Weather" and call["id"].startswith("call_")
    Weather.model_validate(call["args"])
    ((endpoint, _, fields),) = sent(mock_openai)
    assert endpoint == "responses" and {"tools", "tool_choice"} <= set(fields)


def test_a_429_is_retried_by_the_sdk_under_langchain(llm, mock_openai):
    message = llm("chat-429-retry-after-ms", max_retries=2).invoke("Say hello")
    assert message.content == "Hello from the mock"
    entries = mock_openai.journal()
    assert [(e["status"], e["retry_count"]) for e in entries] == [(429, 0), (200, 1)]


def test_an_in_band_stream_error_reaches_langchain_as_the_sdks_error(llm, mock_openai):
    with pytest.raises(openai.APIError, match="The server had an error"):
        list(llm("chat-stream-error-event").stream("Say hello"))
    (entry,) = mock_openai.journal()
    assert entry["faults"] == ["error_event"] and entry["stream"] is True

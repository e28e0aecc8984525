"""The same faults on the Responses and Images streams, through the real openai SDK.

A fault knows nothing about resources; these tests show the symptoms are the right ones for each
stream shape (the in-band error above all: chat, Responses and Images each send it their way).
"""

from __future__ import annotations

import openai
import pytest
from openai.types import ImageGenStreamEvent
from openai.types.responses import ResponseErrorEvent, ResponseStreamEvent
from pydantic import TypeAdapter

RESPONSE_EVENT = TypeAdapter(ResponseStreamEvent)
IMAGE_EVENT = TypeAdapter(ImageGenStreamEvent)


@pytest.fixture(scope="module")
def mock_openai_server(mock_openai_server_factory):
    return mock_openai_server_factory(time_scale=0.01)


def response_events(client: openai.OpenAI) -> list:
    events = []
    for ev in client.responses.create(model="gpt-4o", input="Say hello", stream=True):
        events.append(RESPONSE_EVENT.validate_python(ev.model_dump()))
    return events


def image_events(client: openai.OpenAI, partial_images: int = 2) -> list:
    events = []
    for ev in client.images.generate(
        model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=partial_images
    ):
        events.append(IMAGE_EVENT.validate_python(ev.model_dump()))
    return events


# --- Responses -------------------------------------------------------------------------------


def test_responses_in_band_error_is_the_error_event_the_sdk_types(mock_openai):
    events = response_events(mock_openai.client("responses-stream-error-event", max_retries=0))
    err = events[-1]
    assert isinstance(err, ResponseErrorEvent)
    assert err.code == "server_error" and "Sorry about that" in err.message and err.param is None
    # it continues the stream's numbering and nothing follows it
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert not any(e.type == "response.completed" for e in events)


def test_responses_stream_helper_raises_without_completed_after_an_error(mock_openai):
    with (
        pytest.raises(RuntimeError, match="response.completed"),
        mock_openai.client("responses-stream-error-event", max_retries=0).responses.stream(
            model="gpt-4o", input="Say hello"
        ) as stream,
    ):
        for _ in stream:
            pass
        stream.get_final_response()


def test_responses_no_completed_makes_the_helper_raise(mock_openai):
    with (
        pytest.raises(RuntimeError, match="response.completed"),
        mock_openai.client("responses-stream-no-completed", max_retries=0).responses.stream(
            model="gpt-4o", input="Say hello"
        ) as stream,
    ):
        for _ in stream:
            pass
        stream.get_final_response()
    assert mock_openai.journal()[0]["faults"] == ["no_done"]


def test_responses_drop_raises_api_connection_error_after_eight_events(mock_openai):
    received = []
    with pytest.raises(openai.APIConnectionError):
        for ev in mock_openai.client("responses-stream-drop", max_retries=0).responses.create(
            model="gpt-4o", input="Say hello", stream=True
        ):
            received.append(ev.type)
    assert len(received) == 8 and received[0] == "response.created"
    assert mock_openai.journal()[0]["ended"] == "dropped"


def test_responses_truncate_raises_api_connection_error(mock_openai):
    with pytest.raises(openai.APIConnectionError):
        response_events(mock_openai.client("responses-stream-truncate", max_retries=0))
    assert mock_openai.journal()[0]["ended"] == "truncated"


def test_responses_out_of_order_swaps_two_sequence_numbers(mock_openai):
    numbers = [
        e.sequence_number
        for e in response_events(mock_openai.client("responses-stream-out-of-order", max_retries=0))
    ]
    assert sorted(numbers) == list(range(len(numbers)))
    swapped = [i for i in range(len(numbers) - 1) if numbers[i] > numbers[i + 1]]
    assert len(swapped) == 1


# --- Images ----------------------------------------------------------------------------------


def test_omitted_partial_images_leave_only_the_completed_event(mock_openai):
    events = image_events(mock_openai.client("images-no-partial-images", max_retries=0), partial_images=3)
    assert [e.type for e in events] == ["image_generation.completed"]
    assert events[0].b64_json


def test_images_in_band_error_raises_api_error(mock_openai):
    received = []
    with pytest.raises(openai.APIError) as err:
        for ev in mock_openai.client("images-stream-error-event", max_retries=0).images.generate(
            model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=2
        ):
            received.append(ev.type)
    assert received == ["image_generation.partial_image"]
    assert err.value.code == "server_error"
    assert not isinstance(err.value, openai.APIStatusError)


def test_images_drop_after_the_first_partial_image(mock_openai):
    received = []
    with pytest.raises(openai.APIConnectionError):
        for ev in mock_openai.client("images-stream-drop", max_retries=0).images.generate(
            model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=2
        ):
            received.append(ev.type)
    assert received == ["image_generation.partial_image"]


def test_images_html_502_is_an_internal_server_error(mock_openai):
    with pytest.raises(openai.InternalServerError) as err:
        mock_openai.client("images-html-502", max_retries=0).images.generate(
            model="gpt-image-1", prompt="a lighthouse"
        )
    assert err.value.status_code == 502 and "Bad Gateway" in err.value.response.text

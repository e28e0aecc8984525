"""The Images API through the real SDK, sync and async: generations and multipart edits,
non-streaming and streamed with partial images, every payload validated with the SDK's types."""

from __future__ import annotations

import base64
import io
import json
import struct

import httpx2
import openai
import pytest
from openai.types import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImagesResponse,
)
from PIL import Image

from mockserver.api.images import GENERATIONS, ImageRequest, stream_events
from mockserver.picture import render as render_png
from mockserver.scenario.schema import ResponseSpec
from servekit.sse import SSEReader

EVENT_TYPES = {
    "image_generation.partial_image": ImageGenPartialImageEvent,
    "image_generation.completed": ImageGenCompletedEvent,
    "image_edit.partial_image": ImageEditPartialImageEvent,
    "image_edit.completed": ImageEditCompletedEvent,
}
COMMON_FIELDS = ("type", "b64_json", "created_at", "size", "quality", "background", "output_format")


MAGIC = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}


def png_size(b64: str) -> tuple[int, int]:
    """Width and height from a base64 PNG's IHDR, after checking it is a PNG at all."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def validated(event) -> object:
    """Re-validate an event the SDK parsed, with the SDK's own type for its ``type``."""
    data = event.to_dict()
    return EVENT_TYPES[data["type"]].model_validate(data)


def input_png(seed: int = 1) -> tuple[str, bytes, str]:
    return ("photo.png", render_png(seed, "an input photo", "256x256"), "image/png")


# --- generations -----------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "expected"), [("1024x1536", (1024, 1536)), ("auto", (1024, 1024))])
def test_generate_returns_a_png_of_the_requested_size(client, size, expected):
    raw = client.images.with_raw_response.generate(model="gpt-image-1", prompt="a red lighthouse", size=size)
    body = ImagesResponse.model_validate(json.loads(raw.http_response.text))
    assert len(body.data) == 1
    assert png_size(body.data[0].b64_json) == expected
    assert body.size == f"{expected[0]}x{expected[1]}"
    assert (body.background, body.output_format, body.quality) == ("opaque", "png", "high")
    usage = body.usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens == usage.input_tokens_details.text_tokens == 3
    assert raw.headers.get("x-request-id")


def test_generate_echoes_the_settings_asked_for(client):
    body = client.images.generate(
        model="gpt-image-1", prompt="a kite", size="1536x1024", quality="low", background="transparent"
    )
    assert (body.size, body.quality, body.background) == ("1536x1024", "low", "transparent")
    assert png_size(body.data[0].b64_json) == (1536, 1024)
    assert base64.b64decode(body.data[0].b64_json)[25] == 6, "a transparent image is RGBA"


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_the_bytes_are_in_the_output_format_asked_for(client, output_format):
    body = client.images.generate(model="gpt-image-1", prompt="a lemon", output_format=output_format)
    assert body.output_format == output_format
    assert base64.b64decode(body.data[0].b64_json).startswith(MAGIC[output_format])
    events = list(
        client.images.generate(
            model="gpt-image-1", prompt="a lemon", stream=True, partial_images=1, output_format=output_format
        )
    )
    assert {e.output_format for e in events} == {output_format}
    assert all(base64.b64decode(e.b64_json).startswith(MAGIC[output_format]) for e in events)


async def test_async_generate_gives_n_distinct_deterministic_images(aclient):
    first = await aclient.images.generate(model="gpt-image-1", prompt="two owls", n=2, size="1024x1024")
    again = await aclient.images.generate(model="gpt-image-1", prompt="two owls", n=2, size="1024x1024")
    ImagesResponse.model_validate(first.to_dict())
    images = [d.b64_json for d in first.data]
    assert len(images) == 2 and images[0] != images[1]
    assert images == [d.b64_json for d in again.data]
    assert first.usage.output_tokens == 2 * 4160


def test_stream_sends_the_partial_images_then_completed(client):
    stream = client.images.generate(
        model="gpt-image-1", prompt="a mountain lake", stream=True, partial_images=2, size="1536x1024"
    )
    events = [validated(e) for e in stream]
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    assert all(png_size(e.b64_json) == (1536, 1024) for e in events)
    assert len({e.b64_json for e in events}) == 3, "each partial image is a new picture"
    completed = events[-1]
    assert completed.usage.total_tokens == completed.usage.input_tokens + completed.usage.output_tokens
    plain = client.images.generate(model="gpt-image-1", prompt="a mountain lake", size="1536x1024")
    assert completed.b64_json == plain.data[0].b64_json, "streamed and plain give the same image"


def test_streamed_partials_progress_towards_the_final_image(client):
    def rows(b64: str) -> list[bytes]:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
            data, stride = img.tobytes(), img.width * len(img.getbands())
        return [data[i : i + stride] for i in range(0, len(data), stride)]

    events = list(
        client.images.generate(model="gpt-image-1", prompt="a harbour", stream=True, partial_images=3)
    )
    final = rows(events[-1].b64_json)
    resolved = [sum(a == b for a, b in zip(rows(e.b64_json), final, strict=True)) for e in events[:-1]]
    assert resolved[0] < resolved[1] < resolved[2] < len(final), resolved


async def test_async_stream_with_three_partial_images(aclient):
    stream = await aclient.images.generate(
        model="gpt-image-1", prompt="a comet", stream=True, partial_images=3, quality="medium"
    )
    events = [validated(e) async for e in stream]
    assert [getattr(e, "partial_image_index", None) for e in events] == [0, 1, 2, None]
    assert events[-1].type == "image_generation.completed"
    assert {e.quality for e in events} == {"medium"}


def test_stream_without_partial_images_is_one_completed_event(client):
    events = list(client.images.generate(model="gpt-image-1", prompt="a dune", stream=True))
    assert [e.type for e in events] == ["image_generation.completed"]


def test_stream_wire_format_names_each_event_and_repeats_its_type(client, mock_openai):
    r = httpx2.post(
        mock_openai.base_url + "/images/generations",
        headers={"Authorization": "Bearer sk-test", "X-Mock-Session": mock_openai.session},
        json={"model": "gpt-image-1", "prompt": "a fox", "stream": True, "partial_images": 1},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    reader = SSEReader()
    frames = reader.feed(r.content)
    assert len(frames) == 2 and "[DONE]" not in r.text and not reader.pending
    for frame, name in zip(
        frames, ["image_generation.partial_image", "image_generation.completed"], strict=True
    ):
        assert frame.event == name and "\n" not in frame.data  # one event line, one data line
        data = json.loads(frame.data)
        assert data["type"] == name
        assert all(data[k] is not None for k in COMMON_FIELDS)
        EVENT_TYPES[name].model_validate(data)
    entry = mock_openai.journal()[-1]
    assert (entry["endpoint"], entry["stream"], entry["events_sent"]) == (GENERATIONS, True, 2)


# --- edits (multipart) -----------------------------------------------------------------------


def test_edit_one_image_streamed_with_a_partial(client):
    stream = client.images.edit(
        model="gpt-image-1",
        image=input_png(),
        prompt="add a moon",
        stream=True,
        partial_images=1,
        size="1024x1024",
    )
    events = [validated(e) for e in stream]
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    assert events[0].partial_image_index == 0
    assert all(png_size(e.b64_json) == (1024, 1024) for e in events)
    assert events[1].usage.input_tokens_details.image_tokens > 0


async def test_async_edit_with_several_images_streamed(aclient):
    one = [
        validated(e)
        async for e in await aclient.images.edit(
            model="gpt-image-1", image=input_png(1), prompt="merge them", stream=True, partial_images=1
        )
    ]
    two = [
        validated(e)
        async for e in await aclient.images.edit(
            model="gpt-image-1",
            image=[input_png(1), input_png(2)],
            prompt="merge them",
            stream=True,
            partial_images=1,
        )
    ]
    assert [e.type for e in two] == ["image_edit.partial_image", "image_edit.completed"]
    used_one = one[-1].usage.input_tokens_details.image_tokens
    assert two[-1].usage.input_tokens_details.image_tokens == 2 * used_one
    assert two[-1].b64_json != one[-1].b64_json, "the inputs shape the result"


def test_edit_non_streaming_with_a_mask(client, mock_openai):
    mask = ("mask.png", render_png(1, "mask", "256x256", background="transparent"), "image/png")
    raw = client.images.with_raw_response.edit(
        model="gpt-image-1", image=input_png(), mask=mask, prompt="paint the sky", n=2, size="1024x1536"
    )
    body = ImagesResponse.model_validate(json.loads(raw.http_response.text))
    assert [png_size(d.b64_json) for d in body.data] == [(1024, 1536)] * 2
    assert body.size == "1024x1536"
    entry = mock_openai.journal()[-1]
    assert (entry["endpoint"], entry["stream"], entry["model"]) == ("images.edits", False, "gpt-image-1")


# --- errors like OpenAI's --------------------------------------------------------------------


def bad_request(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    return info.value.body


def test_missing_prompt_names_the_param(client):
    body = bad_request(
        lambda: client.post("/images/generations", body={"model": "gpt-image-1"}, cast_to=ImagesResponse)
    )
    assert body["param"] == "prompt" and body["code"] == "missing_required_parameter"


@pytest.mark.parametrize("value", [-1, 4])
def test_partial_images_outside_0_to_3_is_refused(client, value):
    body = bad_request(
        lambda: client.images.generate(model="gpt-image-1", prompt="x", stream=True, partial_images=value)
    )
    assert body["param"] == "partial_images"


@pytest.mark.parametrize("value", [0, 11])
def test_n_outside_1_to_10_is_refused(client, value):
    assert (
        bad_request(lambda: client.images.generate(model="gpt-image-1", prompt="x", n=value))["param"] == "n"
    )


def test_bad_size_lists_the_supported_values(client):
    body = bad_request(lambda: client.images.generate(model="gpt-image-1", prompt="x", size="640x480"))
    assert body["param"] == "size"
    assert all(s in body["message"] for s in ("'1024x1024'", "'1536x1024'", "'1024x1536'", "'auto'"))


def test_unknown_model_is_a_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.images.generate(model="gpt-image-9", prompt="x")
    assert info.value.body["code"] == "model_not_found"


async def test_edit_without_an_image_names_image(aclient):
    with pytest.raises(openai.BadRequestError) as info:
        await aclient.images.edit(model="gpt-image-1", image=[], prompt="x")
    assert info.value.body["param"] == "image"


def test_edit_with_a_file_that_is_not_an_image_names_image(client):
    body = bad_request(lambda: client.images.edit(image=("notes.txt", b"hello", "text/plain"), prompt="x"))
    assert body["param"] == "image" and "unsupported image format" in body["message"]


def test_transparent_jpeg_is_refused(client):
    body = bad_request(
        lambda: client.images.generate(
            model="gpt-image-1", prompt="x", background="transparent", output_format="jpeg"
        )
    )
    assert body["param"] == "background"


def test_streaming_a_dall_e_model_is_refused(client):
    assert (
        bad_request(lambda: client.images.generate(model="dall-e-3", prompt="x", stream=True))["param"]
        == "stream"
    )


# --- the pure builder: timing comes from the scenario's response spec ------------------------


def test_stream_events_take_their_timing_from_the_response_spec():
    req = ImageRequest(
        endpoint=GENERATIONS,
        model="gpt-image-1",
        prompt="a bird",
        n=1,
        size="1024x1024",
        quality="auto",
        background="auto",
        output_format="png",
        stream=True,
        partial_images=2,
        response_format="b64_json",
    )
    events = stream_events(req, ResponseSpec(ttft_ms=120, inter_token_ms=30), seed=0, created=1700000000)
    assert [e.delay_ms for e in events] == [120, 30, 30]
    assert [e.event for e in events] == [e.type for e in events] == [e.data["type"] for e in events]
    assert all(e.content for e in events)
    assert [e.terminal for e in events] == [False, False, True]
    assert events[0].data["created_at"] == 1700000000


def test_edit_sent_as_json_is_told_to_use_multipart(mock_openai):
    r = httpx2.post(
        mock_openai.base_url + "/images/edits",
        headers={"Authorization": "Bearer sk-test", "X-Mock-Session": mock_openai.session},
        json={"prompt": "x", "image": "aGVsbG8="},
    )
    assert r.status_code == 400
    assert "expected multipart/form-data" in r.json()["error"]["message"]


def test_edit_form_fields_are_typed_like_the_json_ones(mock_openai):
    r = httpx2.post(
        mock_openai.base_url + "/images/edits",
        headers={"Authorization": "Bearer sk-test", "X-Mock-Session": mock_openai.session},
        data={"prompt": "x", "n": "two"},
        files={"image": input_png()},
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "n" and r.json()["error"]["code"] == "invalid_type"

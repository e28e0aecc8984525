"""Image connectors with the three-tier fallback of seed 000, against the mock through the real
SDK: each tier on its own, and every fallback path (background drop → resume; tier 1 fails →
tier 2; "No partial images received from OpenAI streaming response" → tier 3; all fail →
one error naming each tier's failure and job id)."""

from __future__ import annotations

import base64
import json

import openai
import pytest
from openai.types.responses import Response

from harness.connectors import (
    BACKGROUND_STREAM,
    NO_PARTIAL_IMAGES,
    NON_STREAM,
    STREAM,
    Backoff,
    ConnectorSettings,
    ImageGenerationError,
    ImageJob,
    OpenAIImg2ImgConnector,
    OpenAITxt2ImgConnector,
)
from harness.connectors.image_input import sniff_mime
from harness.pytest_plugin import MockOpenAI

FAST = Backoff(initial_ms=2, multiplier=2, max_ms=10, max_retries=2)


class Harness:
    """This test's session on the mock (the plugin's ``mock_openai``), and connectors on it."""

    def __init__(self, mock: MockOpenAI) -> None:
        self.mock = mock
        self.clients: list[openai.AsyncOpenAI] = []

    def client(self, scenario: str | None = None) -> openai.AsyncOpenAI:
        c = self.mock.async_client(scenario, max_retries=0)
        self.clients.append(c)
        return c

    def connector(self, cls=OpenAITxt2ImgConnector, scenario: str | None = None, **settings):
        settings.setdefault("backoff", FAST)
        return cls(client=self.client(scenario), settings=ConnectorSettings(api_key="sk-test", **settings))


@pytest.fixture
async def h(mock_openai):
    harness = Harness(mock_openai)
    yield harness
    for c in harness.clients:
        await c.close()


def png_bytes(b64: str) -> bytes:
    data = base64.b64decode(b64)
    assert sniff_mime(data) == "image/png"
    return data


async def a_png(h: Harness) -> str:
    result = await h.connector(tiers=(NON_STREAM,)).process(ImageJob(prompt="a source image"))
    return result.image_b64


# --- happy paths --------------------------------------------------------------------------


async def test_txt2img_uses_a_background_job_and_shows_each_partial_image(h):
    seen = []
    result = await h.connector().process(ImageJob(prompt="a red fox", quality="low"), progress=seen.append)
    assert result.success and result.tier == BACKGROUND_STREAM and result.error is None
    assert result.openai_job_id.startswith("resp_")
    assert result.partial_images == 2 and [(p.index, p.tier) for p in seen] == [
        (0, BACKGROUND_STREAM),
        (1, BACKGROUND_STREAM),
    ]
    assert all(p.job_id == result.openai_job_id for p in seen)
    png_bytes(result.image_b64)
    assert result.processing_time_ms > 0
    # The job id is a real background job whose stored result is the image we got.
    raw = await h.client().responses.with_raw_response.retrieve(result.openai_job_id)
    job = Response.model_validate(json.loads(raw.http_response.text))
    assert job.background is True and job.status == "completed"
    assert [o.result for o in job.output if o.type == "image_generation_call"] == [result.image_b64]


async def test_async_progress_callbacks_are_awaited(h):
    seen = []

    async def progress(partial):
        seen.append(partial.index)

    result = await h.connector().process(ImageJob(prompt="a fox", partial_images=3), progress=progress)
    assert result.success and seen == [0, 1, 2] and result.partial_images == 3


@pytest.mark.parametrize(
    ("tier", "stream_api"),
    [(BACKGROUND_STREAM, "responses"), (STREAM, "responses"), (STREAM, "images"), (NON_STREAM, "responses")],
)
@pytest.mark.parametrize("cls", [OpenAITxt2ImgConnector, OpenAIImg2ImgConnector])
async def test_each_tier_on_its_own_produces_a_png(h, cls, tier, stream_api):
    image = await a_png(h) if cls is OpenAIImg2ImgConnector else None
    seen = []
    connector = h.connector(cls, tiers=(tier,), stream_api=stream_api)
    result = await connector.process(ImageJob(prompt="a fox", image=image), progress=seen.append)
    assert result.success and result.tier == tier
    png_bytes(result.image_b64)
    expected_partials = 0 if tier == NON_STREAM else 2
    assert result.partial_images == len(seen) == expected_partials
    has_job_id = tier == BACKGROUND_STREAM or (tier == STREAM and stream_api == "responses")
    assert (result.openai_job_id or "").startswith("resp_") is has_job_id
    endpoints = [e["endpoint"] for e in h.mock.journal()][1 if image else 0 :]
    if tier == NON_STREAM or stream_api == "images":
        assert endpoints == ["images.edits" if image else "images.generations"]
    else:
        assert endpoints == ["responses"]


async def test_img2img_turns_an_unresolved_template_into_a_clear_error_without_calling_openai(h):
    result = await h.connector(OpenAIImg2ImgConnector).process(ImageJob(prompt="x", image="{{image}}"))
    assert not result.success and result.tier is None
    assert result.error.startswith("Image conversion failed: Failed to parse URL from {{image}}")
    assert h.mock.journal() == []


async def test_a_connector_builds_its_own_client_from_settings(mock_openai):
    settings = ConnectorSettings(
        api_key="sk-test",
        base_url=mock_openai.base_url,
        tiers=(NON_STREAM,),
        default_headers=mock_openai.headers(),
    )
    connector = OpenAITxt2ImgConnector(settings=settings)
    result = await connector.process({"prompt": "a fox"})
    await connector.client.close()
    assert result.success and result.tier == NON_STREAM


# --- fallback paths -----------------------------------------------------------------------


async def test_a_dropped_background_stream_is_resumed_and_no_partial_image_is_shown_twice(h):
    seen = []
    result = await h.connector(scenario="connector-background-drop-resume").process(
        ImageJob(prompt="a fox"), progress=seen.append
    )
    assert result.success and result.tier == BACKGROUND_STREAM and result.resumes == 1
    assert [p.index for p in seen] == [0, 1] and result.partial_images == 2
    created, resumed = h.mock.journal()
    assert (created["endpoint"], created["ended"]) == ("responses", "dropped")
    assert created["event_types"][-1] == "response.image_generation_call.partial_image"
    assert resumed["endpoint"] == "responses.retrieve" and resumed["ended"] == "complete"
    assert resumed["path"].endswith("/" + result.openai_job_id)
    # resumed after the last sequence number seen: nothing before it is sent again
    assert resumed["event_types"][0] == "response.image_generation_call.partial_image"
    assert resumed["event_types"].count("response.image_generation_call.partial_image") == 1
    assert resumed["event_types"][-1] == "response.completed"


async def test_a_resume_that_drops_too_is_resumed_again(h):
    seen = []
    result = await h.connector(scenario="connector-background-drop-twice").process(
        ImageJob(prompt="a fox"), progress=seen.append
    )
    assert result.success and result.resumes == 2 and [p.index for p in seen] == [0, 1]
    assert [(e["endpoint"], e["ended"]) for e in h.mock.journal()] == [
        ("responses", "dropped"),
        ("responses.retrieve", "dropped"),
        ("responses.retrieve", "complete"),
    ]


async def test_a_duplicated_partial_image_reaches_the_callback_once(h):
    seen = []
    result = await h.connector(scenario="connector-background-duplicate-partials").process(
        ImageJob(prompt="a fox"), progress=seen.append
    )
    (entry,) = h.mock.journal()
    assert entry["event_types"].count("response.image_generation_call.partial_image") == 4
    assert result.success and [p.index for p in seen] == [0, 1]


async def test_tier_1_without_a_job_id_to_resume_falls_back_to_tier_2(h):
    seen = []
    result = await h.connector(scenario="connector-background-reset-fallback").process(
        ImageJob(prompt="a fox"), progress=seen.append
    )
    assert result.success and result.tier == STREAM
    (failure,) = result.failures
    assert failure.tier == BACKGROUND_STREAM and failure.job_id is None
    assert "cannot be resumed" in failure.error
    assert [(p.tier, p.index) for p in seen] == [(STREAM, 0), (STREAM, 1)]
    assert [e["ended"] for e in h.mock.journal()] == ["reset", "complete"]


@pytest.mark.parametrize("stream_api", ["responses", "images"])
@pytest.mark.parametrize("cls", [OpenAITxt2ImgConnector, OpenAIImg2ImgConnector])
async def test_no_partial_images_fails_both_streaming_tiers_and_tier_3_delivers(h, cls, stream_api):
    image = await a_png(h) if cls is OpenAIImg2ImgConnector else None
    result = await h.connector(cls, scenario="connector-no-partial-images", stream_api=stream_api).process(
        ImageJob(prompt="a fox", image=image)
    )
    assert result.success and result.tier == NON_STREAM
    png_bytes(result.image_b64)
    assert [(f.tier, f.error) for f in result.failures] == [
        (BACKGROUND_STREAM, NO_PARTIAL_IMAGES),
        (STREAM, NO_PARTIAL_IMAGES),
    ]
    assert result.failures[0].job_id.startswith("resp_")
    assert NO_PARTIAL_IMAGES == "No partial images received from OpenAI streaming response"


async def test_without_partial_images_asked_for_a_stream_without_them_is_fine(h):
    result = await h.connector(scenario="connector-no-partial-images", partial_images=0).process(
        ImageJob(prompt="a fox")
    )
    assert result.success and result.tier == BACKGROUND_STREAM and result.partial_images == 0


async def test_when_every_tier_fails_the_error_names_each_failure_and_the_job_id(h):
    result = await h.connector(scenario="connector-all-tiers-fail").process(ImageJob(prompt="a fox"))
    assert not result.success and result.tier is None and result.image_b64 is None
    tiers = [f.tier for f in result.failures]
    assert tiers == [BACKGROUND_STREAM, STREAM, NON_STREAM]
    job_id = result.failures[0].job_id
    assert job_id.startswith("resp_") and result.openai_job_id == job_id
    assert result.error.startswith("All 3 image tiers failed: tier 1 background_stream (job " + job_id)
    assert "stream failed after 2 reconnects: HTTP 500" in result.error
    assert "tier 2 stream (job none" in result.error and "tier 3 non_stream (job none" in result.error
    assert result.to_dict()["success"] is False
    with pytest.raises(ImageGenerationError) as err:
        result.raise_for_failure()
    assert err.value.failures == result.failures
    endpoints = [e["endpoint"] for e in h.mock.journal()]
    assert endpoints == [
        "responses",
        "responses.retrieve",
        "responses.retrieve",
        "responses",
        "images.generations",
    ]


def test_settings_reject_unknown_tiers_and_apis():
    with pytest.raises(ValueError, match="tiers must be a non-empty selection"):
        ConnectorSettings(api_key="k", tiers=("fast",))
    with pytest.raises(ValueError, match="stream_api must be"):
        ConnectorSettings(api_key="k", stream_api="websocket")
    with pytest.raises(ValueError, match="non-empty prompt"):
        ImageJob(prompt=" ")

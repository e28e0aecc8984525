"""The three tiers of seed 000, one coroutine each; each returns a TierOutcome or raises TierError.

1. :func:`background_stream_tier`: ``responses.create(background=True, stream=True)`` with the
   ``image_generation`` tool; the job id comes from ``response.created``; a dropped stream is
   resumed with ``responses.retrieve(id, stream=True, starting_after=<last sequence_number>)``
   under a backoff, and no partial image reaches the callback twice.
2. :func:`stream_tier`: a plain streaming call with partial images: by default a foreground
   Responses stream (what seed 000 names: "Responses API with partial images"), or the Images
   API stream (``images.generate/edit(stream=True)``) with ``stream_api="images"``.
3. :func:`non_stream_tier`: ``images.generate`` / ``images.edit`` without streaming.

A streaming tier that asked for partial images and saw none fails with exactly
``No partial images received from OpenAI streaming response``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from .backoff import Backoff
from .image_input import ImageData
from .image_requests import ImageJob, images_params, responses_params
from .image_result import (
    BACKGROUND_STREAM,
    NO_PARTIAL_IMAGES,
    NON_STREAM,
    STREAM,
    PartialImage,
    TierError,
    TierOutcome,
)
from .resilient_stream import ResilientStream, StreamGaveUp, describe_error

ProgressCallback = Callable[[PartialImage], Any]  # may be a coroutine function


@dataclass(frozen=True, slots=True)
class TierConfig:
    """What the tiers need from the connector's settings."""

    model: str = "gpt-4.1"  # the Responses model that calls the image_generation tool
    image_model: str = "gpt-image-1"  # the Images API model
    partial_images: int = 2
    stream_api: str = "responses"  # tier 2: "responses" (seed 000) or "images"
    backoff: Backoff = field(default_factory=Backoff)


class PartialSink:
    """Hands each partial image to the progress callback, once per ``partial_image_index``."""

    def __init__(self, tier: str, callback: ProgressCallback | None) -> None:
        self.tier = tier
        self.callback = callback
        self.seen: set[int] = set()

    @property
    def count(self) -> int:
        return len(self.seen)

    async def offer(self, index: int, b64: str, job_id: str | None, seq: int | None = None) -> None:
        if index in self.seen:
            return
        self.seen.add(index)
        if self.callback is not None:
            result = self.callback(PartialImage(index, b64, self.tier, job_id, seq))
            if inspect.isawaitable(result):
                await result


class ResponsesImageCollector:
    """Folds Responses stream events into the final image, feeding partial images to a sink."""

    def __init__(self, sink: PartialSink) -> None:
        self.sink = sink
        self.job_id: str | None = None
        self.image_b64: str | None = None
        self.output_format: str | None = None
        self.completed = False

    async def consume(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "response.created":
            self.job_id = event.response.id
        elif kind == "response.image_generation_call.partial_image":
            await self.sink.offer(
                event.partial_image_index, event.partial_image_b64, self.job_id, event.sequence_number
            )
        elif kind == "response.output_item.done":
            self._take(event.item)
        elif kind == "response.completed":
            for item in event.response.output or ():
                self._take(item)
            self.completed = True
        elif kind in ("response.failed", "response.incomplete"):
            response = event.response
            why = (
                response.error.message
                if response.error
                else (getattr(response.incomplete_details, "reason", None) or "no reason given")
            )
            raise TierError(f"OpenAI job ended {response.status}: {why}", self.job_id, self.sink.count)
        elif kind == "error":
            raise TierError(
                f"error event from OpenAI stream: {event.message} (code {event.code})",
                self.job_id,
                self.sink.count,
            )

    def _take(self, item: Any) -> None:
        if getattr(item, "type", None) == "image_generation_call" and item.result:
            self.image_b64 = item.result
            self.output_format = item.output_format

    def outcome(self, partial_images: int, resumes: int = 0) -> TierOutcome:
        return finish(
            self.sink,
            self.image_b64,
            self.job_id,
            partial_images,
            self.completed,
            self.output_format,
            resumes,
        )


def finish(
    sink: PartialSink,
    image_b64: str | None,
    job_id: str | None,
    partial_images: int,
    completed: bool,
    output_format: str | None,
    resumes: int = 0,
) -> TierOutcome:
    """Judge a finished stream: it must have completed, with partial images when asked for."""
    if not completed:
        raise TierError("OpenAI stream ended before its completion event", job_id, sink.count)
    if partial_images and sink.count == 0:
        raise TierError(NO_PARTIAL_IMAGES, job_id, 0)
    if not image_b64:
        raise TierError("OpenAI stream completed without a final image", job_id, sink.count)
    return TierOutcome(image_b64, job_id, sink.count, output_format, resumes)


async def background_stream_tier(
    client: openai.AsyncOpenAI,
    job: ImageJob,
    image: ImageData | None,
    config: TierConfig,
    progress: ProgressCallback | None,
) -> TierOutcome:
    n = job.partial_images if job.partial_images is not None else config.partial_images
    collector = ResponsesImageCollector(PartialSink(BACKGROUND_STREAM, progress))
    stream = ResilientStream.responses(
        client,
        backoff=config.backoff,
        restart=False,
        **responses_params(job, image, config.model, n, background=True),
    )
    try:
        async for event in stream:
            await collector.consume(event)
    except StreamGaveUp as exc:
        raise TierError(str(exc), collector.job_id or exc.response_id, collector.sink.count) from exc
    except openai.OpenAIError as exc:
        raise TierError(describe_error(exc), collector.job_id, collector.sink.count) from exc
    resumes = sum(1 for r in stream.reconnects if r.kind == "resume")
    return collector.outcome(n, resumes)


async def stream_tier(
    client: openai.AsyncOpenAI,
    job: ImageJob,
    image: ImageData | None,
    config: TierConfig,
    progress: ProgressCallback | None,
) -> TierOutcome:
    n = job.partial_images if job.partial_images is not None else config.partial_images
    sink = PartialSink(STREAM, progress)
    try:
        if config.stream_api == "images":
            return await _images_stream(client, job, image, config, n, sink)
        collector = ResponsesImageCollector(sink)
        stream = await client.responses.create(
            stream=True, **responses_params(job, image, config.model, n, background=False)
        )
        await _drain(stream, collector.consume)
        return collector.outcome(n)
    except openai.OpenAIError as exc:
        raise TierError(describe_error(exc), None, sink.count) from exc


async def _images_stream(
    client: openai.AsyncOpenAI,
    job: ImageJob,
    image: ImageData | None,
    config: TierConfig,
    n: int,
    sink: PartialSink,
) -> TierOutcome:
    params = images_params(job, image, config.image_model, n or None)
    params["stream"] = True
    call = client.images.edit if image is not None else client.images.generate
    stream = await call(**params)
    final: dict[str, Any] = {}

    async def consume(event: Any) -> None:
        if event.type.endswith(".partial_image"):
            await sink.offer(event.partial_image_index, event.b64_json, None)
        elif event.type.endswith(".completed"):
            final.update(b64=event.b64_json, fmt=event.output_format)

    await _drain(stream, consume)
    return finish(sink, final.get("b64"), None, n, bool(final), final.get("fmt"))


async def _drain(stream: AsyncIterable[Any], consume: Callable[[Any], Any]) -> None:
    try:
        async for event in stream:
            await consume(event)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            await close()


async def non_stream_tier(
    client: openai.AsyncOpenAI,
    job: ImageJob,
    image: ImageData | None,
    config: TierConfig,
    progress: ProgressCallback | None,
) -> TierOutcome:
    params = images_params(job, image, config.image_model)
    try:
        if image is not None:
            result = await client.images.edit(**params)
        else:
            result = await client.images.generate(**params)
    except openai.OpenAIError as exc:
        raise TierError(describe_error(exc)) from exc
    if not result.data or not result.data[0].b64_json:
        raise TierError("the images API answered without image data")
    return TierOutcome(result.data[0].b64_json, None, 0, result.output_format)


TIER_FUNCTIONS = {BACKGROUND_STREAM: background_stream_tier, STREAM: stream_tier, NON_STREAM: non_stream_tier}

"""The image connectors (txt2img, img2img) with the three-tier fallback of seed 000.

    connector = OpenAITxt2ImgConnector(client=openai.AsyncOpenAI(...))
    result = await connector.process(ImageJob(prompt="a red fox"), progress=show_preview)
    result.tier, result.openai_job_id, result.partial_images, result.processing_time_ms

Tiers are tried in order (background stream → stream → non-streaming); the first success wins.
When all fail, the result has ``success=False`` and an ``error`` naming every tier's failure and
job id (``raise_for_failure()`` turns that into an :class:`ImageGenerationError`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import openai

from .image_input import ImageData, ImageInputError, normalize_image
from .image_requests import ImageJob
from .image_result import ImageResult, TierError, TierFailure, combined_error
from .image_tiers import TIER_FUNCTIONS, ProgressCallback, TierConfig
from .settings import ConnectorSettings

log = logging.getLogger("harness.connectors.image")


class OpenAIImageConnector:
    """Shared machinery; use :class:`OpenAITxt2ImgConnector` or :class:`OpenAIImg2ImgConnector`."""

    SERVICE = ""
    NEEDS_IMAGE = False

    def __init__(
        self, client: openai.AsyncOpenAI | None = None, settings: ConnectorSettings | None = None
    ) -> None:
        self.settings = settings or ConnectorSettings()
        self.client = client or self.settings.client()
        s = self.settings
        self.tier_config = TierConfig(
            model=s.model,
            image_model=s.image_model,
            partial_images=s.partial_images,
            stream_api=s.stream_api,
            backoff=s.backoff,
        )

    async def prepare_image(self, job: ImageJob) -> ImageData | None:
        if not self.NEEDS_IMAGE:
            return None
        if job.image is None:
            raise ImageInputError(f"{type(self).__name__} needs an input image; the job has none")
        return await normalize_image(job.image, self.settings.fetch_limits)

    async def process(
        self, job: ImageJob | dict[str, Any], progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Run the job through the tiers; never raises for an API failure (see the result)."""
        t0 = time.perf_counter()
        if isinstance(job, dict):
            job = ImageJob(**job)

        def elapsed() -> float:
            return (time.perf_counter() - t0) * 1000

        try:
            image = await self.prepare_image(job)
        except ImageInputError as exc:
            return ImageResult(success=False, processing_time_ms=elapsed(), error=str(exc))
        failures: list[TierFailure] = []
        for tier in self.settings.tiers:
            t_tier = time.perf_counter()
            try:
                out = await TIER_FUNCTIONS[tier](self.client, job, image, self.tier_config, progress)
            except TierError as exc:
                failure = TierFailure(
                    tier, str(exc), exc.job_id, exc.partial_images, (time.perf_counter() - t_tier) * 1000
                )
                failures.append(failure)
                log.warning("%s: %s", type(self).__name__, failure.describe())
                continue
            log.info(
                "%s: image from tier %s (job %s, %d partial images)",
                type(self).__name__,
                tier,
                out.job_id,
                out.partial_images,
            )
            return ImageResult(
                success=True,
                processing_time_ms=elapsed(),
                tier=tier,
                openai_job_id=out.job_id,
                partial_images=out.partial_images,
                image_b64=out.image_b64,
                output_format=out.output_format,
                resumes=out.resumes,
                failures=failures,
            )
        last_job = next((f.job_id for f in reversed(failures) if f.job_id), None)
        return ImageResult(
            success=False,
            processing_time_ms=elapsed(),
            openai_job_id=last_job,
            error=combined_error(failures),
            failures=failures,
        )


class OpenAITxt2ImgConnector(OpenAIImageConnector):
    """Text to image."""

    SERVICE = "openai_txt2img"


class OpenAIImg2ImgConnector(OpenAIImageConnector):
    """Image to image: the job's ``image`` is normalised first (see :mod:`.image_input`)."""

    SERVICE = "openai_img2img"
    NEEDS_IMAGE = True

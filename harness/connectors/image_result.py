"""What an image connector hands back: the result, the partial images, and tier failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NO_PARTIAL_IMAGES = "No partial images received from OpenAI streaming response"

# The tiers, in the order they are tried (seed 000).
BACKGROUND_STREAM = "background_stream"  # 1: background Responses job, streamed, resumable
STREAM = "stream"  # 2: a plain (foreground) streaming call with partial images
NON_STREAM = "non_stream"  # 3: the non-streaming images API
TIERS = (BACKGROUND_STREAM, STREAM, NON_STREAM)


@dataclass(frozen=True, slots=True)
class PartialImage:
    """One partial image, as the progress callback sees it (each one at most once)."""

    index: int  # partial_image_index, 0-based
    b64: str
    tier: str
    job_id: str | None
    sequence_number: int | None = None


class TierError(Exception):
    """One tier failed; carries the OpenAI job id it got, if any."""

    def __init__(self, message: str, job_id: str | None = None, partial_images: int = 0) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.partial_images = partial_images


@dataclass(frozen=True, slots=True)
class TierFailure:
    tier: str
    error: str
    job_id: str | None
    partial_images: int
    elapsed_ms: float

    def describe(self) -> str:
        n = TIERS.index(self.tier) + 1 if self.tier in TIERS else "?"
        return (
            f"tier {n} {self.tier} (job {self.job_id or 'none'}, {self.partial_images} partial "
            f"images, {self.elapsed_ms:.0f} ms): {self.error}"
        )


@dataclass(frozen=True, slots=True)
class TierOutcome:
    """What a tier that succeeded produced."""

    image_b64: str
    job_id: str | None
    partial_images: int
    output_format: str | None = None
    resumes: int = 0


@dataclass
class ImageResult:
    """The connector's answer. ``success`` False means every tier failed; ``error`` says how."""

    success: bool
    processing_time_ms: float
    tier: str | None = None
    openai_job_id: str | None = None
    partial_images: int = 0
    image_b64: str | None = None
    output_format: str | None = None
    resumes: int = 0  # how often tier 1 resumed its job's stream
    error: str | None = None
    failures: list[TierFailure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON the worker reports (the image itself left out)."""
        return {
            "success": self.success,
            "tier": self.tier,
            "openai_job_id": self.openai_job_id,
            "partial_images": self.partial_images,
            "resumes": self.resumes,
            "processing_time_ms": round(self.processing_time_ms),
            "error": self.error,
            "failures": [f.describe() for f in self.failures],
        }

    def raise_for_failure(self) -> ImageResult:
        if not self.success:
            raise ImageGenerationError(self.error or "image generation failed", self.failures)
        return self


class ImageGenerationError(RuntimeError):
    """Every tier failed; ``failures`` has each tier's error and job id."""

    def __init__(self, message: str, failures: list[TierFailure]) -> None:
        super().__init__(message)
        self.failures = failures


def combined_error(failures: list[TierFailure]) -> str:
    return f"All {len(failures)} image tiers failed: " + "; ".join(f.describe() for f in failures)

"""Pure builders for image requests: the job, and the parameters each tier sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .image_input import ImageData


@dataclass(frozen=True, slots=True)
class ImageJob:
    """What a worker asks an image connector for. ``image`` only for img2img (any accepted input)."""

    prompt: str
    image: str | None = None
    size: str = "1024x1024"
    quality: str = "auto"
    output_format: str = "png"
    partial_images: int | None = None  # None: the connector's setting

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError("an image job needs a non-empty prompt")
        if self.partial_images is not None and not 0 <= self.partial_images <= 3:
            raise ValueError(f"partial_images must be 0..3, got {self.partial_images}")


def image_tool(job: ImageJob, partial_images: int) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "type": "image_generation",
        "size": job.size,
        "quality": job.quality,
        "output_format": job.output_format,
    }
    if partial_images:
        tool["partial_images"] = partial_images
    return tool


def responses_input(job: ImageJob, image: ImageData | None) -> str | list[dict[str, Any]]:
    if image is None:
        return job.prompt
    return [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": job.prompt},
                {"type": "input_image", "image_url": image.data_url},
            ],
        }
    ]


def responses_params(
    job: ImageJob, image: ImageData | None, model: str, partial_images: int, background: bool
) -> dict[str, Any]:
    """Keyword arguments for ``client.responses.create`` (without ``stream``)."""
    params: dict[str, Any] = {
        "model": model,
        "input": responses_input(job, image),
        "tools": [image_tool(job, partial_images)],
    }
    if background:
        params["background"] = True
    return params


def images_params(
    job: ImageJob, image: ImageData | None, model: str, partial_images: int | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``client.images.generate`` / ``client.images.edit``."""
    params: dict[str, Any] = {"model": model, "prompt": job.prompt, "size": job.size}
    if model.startswith("dall-e"):
        params["response_format"] = "b64_json"
    else:
        params["quality"] = job.quality
        params["output_format"] = job.output_format
    if image is not None:
        params["image"] = (f"input.{image.extension}", image.data, image.mime)
    if partial_images:
        params["stream"] = True
        params["partial_images"] = partial_images
    return params

"""Connector settings, and building the ``openai.AsyncOpenAI`` client from them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import openai

from .backoff import Backoff
from .image_input import FetchLimits
from .image_result import TIERS


@dataclass
class ConnectorSettings:
    """Everything an image connector can be configured with; environment names as in seed 000."""

    api_key: str | None = None  # default: $OPENAI_API_KEY
    base_url: str | None = None  # default: $OPENAI_BASE_URL, else the SDK's default
    model: str = "gpt-4.1"  # Responses model that calls the image_generation tool
    image_model: str = "gpt-image-1"  # Images API model (tiers 2 with stream_api="images", and 3)
    partial_images: int = 2  # 1..3 to see previews; 0 turns the "no partial images" check off
    stream_api: str = "responses"  # tier 2: "responses" (seed 000) or "images"
    tiers: tuple[str, ...] = TIERS  # which tiers to try, in order (drop streaming ones to disable)
    backoff: Backoff = field(default_factory=Backoff)  # tier 1's resume policy
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    timeout_s: float = 120.0
    sdk_max_retries: int = 2
    default_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [t for t in self.tiers if t not in TIERS]
        if unknown or not self.tiers:
            raise ValueError(
                f"tiers must be a non-empty selection of {', '.join(TIERS)}; got "
                f"{', '.join(self.tiers) or 'none'}"
            )
        if self.stream_api not in ("responses", "images"):
            raise ValueError(f"stream_api must be 'responses' or 'images', got {self.stream_api!r}")
        if not 0 <= self.partial_images <= 3:
            raise ValueError(f"partial_images must be 0..3, got {self.partial_images}")

    def client(self) -> openai.AsyncOpenAI:
        api_key = self.api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key:
            raise ValueError("No OpenAI API key: pass api_key or set OPENAI_API_KEY")
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            timeout=self.timeout_s,
            max_retries=self.sdk_max_retries,
            default_headers=self.default_headers or None,
        )

"""Server settings: what ``mockopenai serve`` takes and what the pytest plugin passes."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o4-mini",
    "gpt-image-1",
    "gpt-image-1-mini",
    "dall-e-2",
    "dall-e-3",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "gpt-realtime",
)


@dataclass
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    seed: int = 0
    time_scale: float = 1.0
    api_keys: list[str] | None = None  # None: any non-empty Bearer key is accepted
    scenario_paths: list[str] = field(default_factory=list)
    default_scenario: str | None = None
    journal_size: int = 5000
    upstream: str | None = None  # serve --upstream: forward to it, the scenario's faults on its answers
    # serve --workers N: the database the workers share, and which worker this process is
    shared_state: str | None = None
    worker: int | None = None

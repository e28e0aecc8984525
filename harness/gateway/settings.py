"""Gateway settings, read from environment variables (seed 004's names where it has them).

Every field has an environment variable; ``GatewaySettings.from_env(**overrides)`` reads them and
then applies keyword overrides by field name (what tests and the CLI use).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlparse

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_API_KEY = "sk-local-upstream"  # used only when the upstream is on loopback and no key is set
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class GatewaySettings:
    openai_api_key: str | None = None
    openai_base_url: str = DEFAULT_BASE_URL
    model: str = "gpt-4o-mini"
    heartbeat_ms: int = 10_000
    jwt_secret: str | None = None
    jwt_audience: str | None = None  # None: the `aud` claim is not checked
    jwt_max_ttl_s: int = 86_400  # a token that expires later than this from now is refused
    cors_origins: tuple[str, ...] = ("*",)
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 30_000  # longest silence between two upstream reads
    first_token_timeout_ms: int = 30_000  # from the request to the first token, retries included
    max_retries: int = 2  # retries after the first attempt, before the first token only
    retry_initial_ms: int = 500
    retry_max_delay_ms: int = 8_000
    retry_after_max_ms: int = 20_000  # a longer server-directed wait is not worth it: report
    keepalive_connections: int = 50
    max_connections: int = 1000
    memory_timeout_ms: int = 1_000
    memory_max_turns: int = 10
    max_message_chars: int = 4000
    telemetry_db: str = "telemetry.db"
    forward_mock_headers: bool = True  # pass X-Mock-Scenario / X-Mock-Session on to the upstream
    host: str = "127.0.0.1"
    port: int = 3000

    def __post_init__(self) -> None:
        if isinstance(self.cors_origins, str):
            object.__setattr__(self, "cors_origins", _origins(self.cors_origins))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> GatewaySettings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, (var, kind) in ENV_VARS.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = _convert(var, raw.strip(), kind)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"Unknown gateway setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
            )
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings the gateway cannot run with, naming the environment variable."""
        if not self.jwt_secret:
            raise SettingsError("JWT_SECRET is not set: the gateway signs and checks HS256 tokens with it.")
        if len(self.jwt_secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"JWT_SECRET is too short: HS256 needs at least {MIN_SECRET_LENGTH} "
                f"characters, got {len(self.jwt_secret)}."
            )
        url = urlparse(self.openai_base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SettingsError(f"OPENAI_BASE_URL must be an http(s) URL, got {self.openai_base_url!r}.")
        if not self.openai_api_key and not self.upstream_is_local:
            raise SettingsError(
                "OPENAI_API_KEY is not set (it may only be left out when "
                "OPENAI_BASE_URL points at a local server)."
            )
        for name in (
            "heartbeat_ms",
            "connect_timeout_ms",
            "read_timeout_ms",
            "first_token_timeout_ms",
            "memory_timeout_ms",
            "keepalive_connections",
            "max_connections",
            "max_message_chars",
            "jwt_max_ttl_s",
        ):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{ENV_VARS[name][0]} must be > 0, got {getattr(self, name)}.")
        if self.max_retries < 0:
            raise SettingsError(f"OPENAI_MAX_RETRIES must be >= 0, got {self.max_retries}.")

    @property
    def upstream_is_local(self) -> bool:
        return urlparse(self.openai_base_url).hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def api_key(self) -> str:
        return self.openai_api_key or LOCAL_API_KEY


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _convert(var: str, raw: str, kind: type) -> Any:
    if kind is bool:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{var} must be true or false, got {raw!r}.")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{var} must be an integer, got {raw!r}.") from None
    if kind is tuple:
        return _origins(raw)
    return raw


# field name -> (environment variable, type)
ENV_VARS: dict[str, tuple[str, type]] = {
    "openai_api_key": ("OPENAI_API_KEY", str),
    "openai_base_url": ("OPENAI_BASE_URL", str),
    "model": ("OPENAI_MODEL", str),
    "heartbeat_ms": ("OPENAI_SSE_HEARTBEAT_MS", int),
    "jwt_secret": ("JWT_SECRET", str),
    "jwt_audience": ("JWT_AUDIENCE", str),
    "jwt_max_ttl_s": ("JWT_MAX_TTL_S", int),
    "cors_origins": ("CORS_ORIGINS", tuple),
    "connect_timeout_ms": ("OPENAI_CONNECT_TIMEOUT_MS", int),
    "read_timeout_ms": ("OPENAI_READ_TIMEOUT_MS", int),
    "first_token_timeout_ms": ("OPENAI_FIRST_TOKEN_TIMEOUT_MS", int),
    "max_retries": ("OPENAI_MAX_RETRIES", int),
    "retry_initial_ms": ("OPENAI_RETRY_INITIAL_MS", int),
    "retry_max_delay_ms": ("OPENAI_RETRY_MAX_DELAY_MS", int),
    "retry_after_max_ms": ("OPENAI_RETRY_AFTER_MAX_MS", int),
    "keepalive_connections": ("OPENAI_KEEPALIVE_CONNECTIONS", int),
    "max_connections": ("OPENAI_MAX_CONNECTIONS", int),
    "memory_timeout_ms": ("MEMORY_TIMEOUT_MS", int),
    "memory_max_turns": ("MEMORY_MAX_TURNS", int),
    "max_message_chars": ("CHAT_MAX_MESSAGE_CHARS", int),
    "telemetry_db": ("TELEMETRY_DB", str),
    "forward_mock_headers": ("GATEWAY_FORWARD_MOCK_HEADERS", bool),
    "host": ("GATEWAY_HOST", str),
    "port": ("PORT", int),
}

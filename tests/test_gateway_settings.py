"""Gateway settings come from seed 004's environment variables; bad ones fail with the name."""

from __future__ import annotations

import aiohttp
import httpx2
import pytest

from harness.gateway.settings import GatewaySettings, SettingsError
from harness.gateway.upstream import (
    client_timeout,
    connector_options,
    forwarded_headers,
    make_client,
    timeouts,
)

SECRET = "x" * 32
LOCAL = {"JWT_SECRET": SECRET, "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}


def test_defaults_are_seed_004s():
    s = GatewaySettings.from_env(LOCAL)
    assert s.heartbeat_ms == 10_000
    assert s.model == "gpt-4o-mini"
    assert s.cors_origins == ("*",)
    assert s.keepalive_connections == 50
    assert s.telemetry_db == "telemetry.db"
    assert s.max_message_chars == 4000


def test_environment_variables_are_read():
    env = {
        **LOCAL,
        "OPENAI_API_KEY": "sk-real",
        "OPENAI_SSE_HEARTBEAT_MS": "250",
        "OPENAI_MODEL": "gpt-4.1-mini",
        "CORS_ORIGINS": "http://localhost:3001, https://admin.example.com/",
        "MEMORY_TIMEOUT_MS": "80",
        "OPENAI_MAX_RETRIES": "4",
        "OPENAI_READ_TIMEOUT_MS": "1500",
        "TELEMETRY_DB": "/tmp/t.db",
        "GATEWAY_FORWARD_MOCK_HEADERS": "false",
    }
    s = GatewaySettings.from_env(env)
    assert (s.openai_api_key, s.heartbeat_ms, s.model) == ("sk-real", 250, "gpt-4.1-mini")
    assert s.cors_origins == ("http://localhost:3001", "https://admin.example.com")
    assert (s.memory_timeout_ms, s.max_retries, s.read_timeout_ms) == (80, 4, 1500)
    assert s.telemetry_db == "/tmp/t.db"
    assert s.forward_mock_headers is False


def test_overrides_win_over_the_environment():
    s = GatewaySettings.from_env(
        {**LOCAL, "OPENAI_SSE_HEARTBEAT_MS": "250"}, heartbeat_ms=100, cors_origins="http://a.test"
    )
    assert s.heartbeat_ms == 100
    assert s.cors_origins == ("http://a.test",)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, "JWT_SECRET is not set"),
        ({**LOCAL, "JWT_SECRET": "short"}, "JWT_SECRET is too short"),
        ({**LOCAL, "OPENAI_SSE_HEARTBEAT_MS": "ten"}, "OPENAI_SSE_HEARTBEAT_MS must be an integer"),
        ({**LOCAL, "OPENAI_SSE_HEARTBEAT_MS": "0"}, "OPENAI_SSE_HEARTBEAT_MS must be > 0"),
        ({**LOCAL, "OPENAI_BASE_URL": "ftp://x"}, "OPENAI_BASE_URL must be an http(s) URL"),
        ({"JWT_SECRET": SECRET}, "OPENAI_API_KEY is not set"),
        (
            {**LOCAL, "GATEWAY_FORWARD_MOCK_HEADERS": "maybe"},
            "GATEWAY_FORWARD_MOCK_HEADERS must be true or false",
        ),
    ],
)
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(SettingsError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        GatewaySettings.from_env(env)


def test_unknown_override_is_refused():
    with pytest.raises(TypeError, match="Unknown gateway setting"):
        GatewaySettings.from_env(LOCAL, heartbeat=5)


def test_upstream_pool_is_keep_alive_with_the_sdks_timeouts_and_sdk_retries_are_off():
    s = GatewaySettings.from_env(LOCAL, connect_timeout_ms=1500, read_timeout_ms=7000)
    options = connector_options(s)
    assert options["limit"] == s.max_connections and options["keepalive_timeout"] == 30.0
    assert options["max_keepalive"] == 50
    assert client_timeout(s) == aiohttp.ClientTimeout(
        total=None, connect=1.5, sock_connect=1.5, sock_read=7.0
    )
    assert timeouts(s) == httpx2.Timeout(connect=1.5, read=7.0, write=1.5, pool=1.5)
    client = make_client(s)
    assert client.max_retries == 0
    assert str(client.base_url) == "http://127.0.0.1:8000/v1/"


def test_only_the_mock_selection_headers_are_forwarded():
    s = GatewaySettings.from_env(LOCAL)
    incoming = {"X-Mock-Scenario": "gateway-three-500s", "X-Mock-Session": "abc", "Authorization": "Bearer t"}
    assert forwarded_headers(incoming, s) == {
        "X-Mock-Scenario": "gateway-three-500s",
        "X-Mock-Session": "abc",
    }
    off = GatewaySettings.from_env(LOCAL, forward_mock_headers=False)
    assert forwarded_headers(incoming, off) == {}

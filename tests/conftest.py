"""Shared fixtures for the project's own tests: a mock per test module on a free port."""

from __future__ import annotations

import uuid

import openai
import pytest

from mockserver.config import MockConfig
from mockserver.web_runner import MockServer


@pytest.fixture(scope="module")
def mock_server():
    with MockServer(MockConfig(port=0)) as server:
        yield server


@pytest.fixture
def session_id() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def client(mock_server, session_id) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=mock_server.base_url,
        api_key="sk-test",
        default_headers={"X-Mock-Session": session_id},
        max_retries=0,
    )


@pytest.fixture
def aclient(mock_server, session_id) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=mock_server.base_url,
        api_key="sk-test",
        default_headers={"X-Mock-Session": session_id},
        max_retries=0,
    )


pytest_plugins = ["pytester"]

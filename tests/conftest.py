"""Shared fixtures for the project's own tests, on the project's own pytest plugin: the mock is
``mock_openai_server`` (a module overrides it through ``mock_openai_server_factory`` when it needs
settings of its own), the session and journal are ``mock_openai``'s, and these SDK clients are
``mock_openai``'s with retries off (a test that wants the SDK's retries asks for them)."""

from __future__ import annotations

import openai
import pytest

from harness.pytest_plugin import MockOpenAI


@pytest.fixture
def client(mock_openai: MockOpenAI) -> openai.OpenAI:
    return mock_openai.client(max_retries=0)


@pytest.fixture
def aclient(mock_openai: MockOpenAI) -> openai.AsyncOpenAI:
    return mock_openai.async_client(max_retries=0)


pytest_plugins = ["pytester"]

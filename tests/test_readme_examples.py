"""The README's plugin examples, run as written: what the README promises is what a user gets."""

from __future__ import annotations

import openai
import pytest


def test_retry_after_is_honoured(mock_openai):
    client = mock_openai.client(scenario="chat-429-retry-after-ms")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert [e["retry_count"] for e in mock_openai.journal()] == [0, 1]


@pytest.mark.mock_scenario("chat-stream-drop")
async def test_drop(mock_openai):
    client = mock_openai.async_client(max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass
    [entry] = mock_openai.journal()
    assert entry["ended"] == "dropped" and entry["faults"] == ["drop"]

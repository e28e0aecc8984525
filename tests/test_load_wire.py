"""The load clients' verdicts on real mock streams: heartbeats are not tokens, cut or errored streams fail.

The bench client and the Locust users share the SSE reader and the stream watch; this drives the
bench client (aiohttp, real loopback socket) against the mock under fault scenarios.
"""

from __future__ import annotations

import pytest

from harness.bench.stream_client import measure_stream, new_session
from harness.bench.suites import mock_chat
from mockserver.config import MockConfig
from mockserver.web_runner import MockServer

SCENARIOS = {
    "wire-heartbeat-before-first-token": """
description: Comments every 20 ms while the first token takes 150 ms.
match: {endpoint: chat.completions, stream: true}
faults: [{fault: heartbeat, interval_ms: 20}]
response: {ttft_ms: 150, tokens: 5}
""",
    "wire-error-event": """
description: An in-band error after three chunks.
match: {endpoint: chat.completions, stream: true}
faults: [{fault: error_event, after_events: 3}]
""",
    "wire-drop": """
description: The connection closes after five chunks, without [DONE].
match: {endpoint: chat.completions, stream: true}
faults: [{fault: drop, after_events: 5}]
""",
}


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wire-scenarios")
    for name, text in SCENARIOS.items():
        (folder / f"{name}.yaml").write_text(text)
    with MockServer(MockConfig(port=0, scenario_paths=[str(folder)])) as server:
        yield server


async def measure(mock, scenario):
    async with new_session() as session:
        return await measure_stream(session, mock_chat(mock.url, scenario))


async def test_heartbeat_comments_before_the_first_token_do_not_count_as_ttft(mock):
    outcome = await measure(mock, "wire-heartbeat-before-first-token")
    assert outcome.ok and outcome.tokens == 5
    assert outcome.ttft_ms >= 150.0


async def test_an_in_band_error_after_http_200_is_a_failure(mock):
    outcome = await measure(mock, "wire-error-event")
    assert outcome.status == 200 and not outcome.ok
    assert outcome.failure.startswith("in_band_error")


async def test_a_stream_dropped_before_done_is_a_failure(mock):
    outcome = await measure(mock, "wire-drop")
    assert not outcome.ok
    assert outcome.status == 200 and outcome.failure.startswith("no_terminator")
    assert outcome.tokens >= 1

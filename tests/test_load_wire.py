"""The load clients' verdicts on real mock streams: heartbeats are not tokens, cut or errored streams fail.

The bench client and the Locust users share the SSE reader and the stream watch; this drives the
bench client (aiohttp, real loopback socket) against the mock under fault scenarios.
"""

from __future__ import annotations

import pytest
from scenario_files import scenario_folder

from harness.bench.stream_client import measure_stream, new_session
from harness.bench.suites import mock_chat
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
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    return mock_openai_server_factory(scenario_paths=[scenario_folder(tmp_path_factory, SCENARIOS)])


async def measure(mock: MockServer, scenario: str):
    async with new_session() as session:
        return await measure_stream(session, mock_chat(mock.url, scenario))


async def test_heartbeat_comments_before_the_first_token_do_not_count_as_ttft(mock_openai_server):
    outcome = await measure(mock_openai_server, "wire-heartbeat-before-first-token")
    assert outcome.ok and outcome.tokens == 5
    assert outcome.ttft_ms >= 150.0


async def test_an_in_band_error_after_http_200_is_a_failure(mock_openai_server):
    outcome = await measure(mock_openai_server, "wire-error-event")
    assert outcome.status == 200 and not outcome.ok
    assert outcome.failure.startswith("in_band_error")


async def test_a_stream_dropped_before_done_is_a_failure(mock_openai_server):
    outcome = await measure(mock_openai_server, "wire-drop")
    assert not outcome.ok
    assert outcome.status == 200 and outcome.failure.startswith("no_terminator")
    assert outcome.tokens >= 1

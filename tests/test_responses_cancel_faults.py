"""A cancel silences a stream following the job even when a timing fault copied its events: the
follower hears nothing after the cancel point (a fault's copies used to slip past it)."""

from __future__ import annotations

import pytest
from scenario_files import scenario_folder

TIME_SCALE = 0.1
TIMED = {
    # slow and stall hand delivery copies of the job's events, with new delays
    "cancel-slow": "faults: [{fault: slow, inter_token_ms: 250}]",
    "cancel-stall": "faults: [{fault: stall, after_events: 5, duration_ms: 400}]",
    "cancel-duplicate": "faults: [{fault: duplicate, after_events: 4, count: 2}]",
}


@pytest.fixture(scope="module")
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    folder = scenario_folder(
        tmp_path_factory,
        {
            name: f"description: A background job whose stream has a timing fault ({name}).\n"
            "match: {endpoint: responses, stream: true}\n"
            f"{faults}\n"
            "response: {ttft_ms: 1000, inter_token_ms: 300, tokens: 20}\n"
            for name, faults in TIMED.items()
        },
    )
    return mock_openai_server_factory(time_scale=TIME_SCALE, scenario_paths=[folder])


@pytest.mark.parametrize("name", sorted(TIMED))
def test_a_follower_hears_nothing_after_the_cancel(mock_openai, name):
    client = mock_openai.client(max_retries=0)
    headers = {"X-Mock-Scenario": name}
    stream = client.responses.create(
        model="gpt-4o", input="Cancel while I listen", background=True, stream=True, extra_headers=headers
    )
    heard, cancelled = [], None
    for event in stream:
        heard.append(event)
        if event.type == "response.output_text.delta" and cancelled is None:
            cancelled = client.responses.cancel(heard[0].response.id, extra_headers=headers)
    assert cancelled is not None and cancelled.status == "cancelled"
    said = [e.delta for e in heard if e.type == "response.output_text.delta"]
    assert not any(e.type == "response.completed" for e in heard)
    # what the follower heard is what the job had said when it was cancelled (a duplicate fault
    # may repeat one delta), never the rest of the answer
    assert "".join(dict.fromkeys(said)) == cancelled.output_text or "".join(said) == cancelled.output_text
    assert len(said) <= 4

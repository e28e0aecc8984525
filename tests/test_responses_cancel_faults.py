"""A cancel silences a stream following the job even when a timing fault copied its events: the
follower hears nothing after the cancel point (a fault's copies used to slip past it)."""

from __future__ import annotations

import openai
import pytest

from mockserver.config import MockConfig
from mockserver.web_runner import MockServer

TIME_SCALE = 0.1
TIMED = {
    # slow and stall hand delivery copies of the job's events, with new delays
    "cancel-slow": "faults: [{fault: slow, inter_token_ms: 250}]",
    "cancel-stall": "faults: [{fault: stall, after_events: 5, duration_ms: 400}]",
    "cancel-duplicate": "faults: [{fault: duplicate, after_events: 4, count: 2}]",
}


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    for name, faults in TIMED.items():
        (folder / f"{name}.yaml").write_text(
            f"description: A background job whose stream has a timing fault ({name}).\n"
            "match: {endpoint: responses, stream: true}\n"
            f"{faults}\n"
            "response: {ttft_ms: 1000, inter_token_ms: 300, tokens: 20}\n"
        )
    with MockServer(MockConfig(port=0, time_scale=TIME_SCALE, scenario_paths=[str(folder)])) as server:
        yield server


@pytest.mark.parametrize("name", sorted(TIMED))
def test_a_follower_hears_nothing_after_the_cancel(mock, name):
    client = openai.OpenAI(base_url=mock.base_url, api_key="sk-x", max_retries=0)
    headers = {"X-Mock-Scenario": name, "X-Mock-Session": f"cancel-{name}"}
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

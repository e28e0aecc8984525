"""Fuzzed request bodies for chat, responses and images (bounded to a few seconds): whatever the
fields hold, the mock answers without a 5xx, and every 4xx is OpenAI's error body."""

from __future__ import annotations

import json

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = {
    "/v1/chat/completions": (
        "model messages stream stream_options n max_tokens max_completion_tokens temperature top_p tools "
        "tool_choice response_format logprobs top_logprobs user seed stop metadata parallel_tool_calls"
    ).split(),
    "/v1/responses": (
        "model input instructions stream background tools tool_choice max_output_tokens text metadata "
        "previous_response_id store temperature top_p parallel_tool_calls truncation user"
    ).split(),
    "/v1/images/generations": (
        "model prompt n size quality background output_format output_compression partial_images stream "
        "response_format moderation user"
    ).split(),
}
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["gpt-4o-mini", "gpt-image-1", "auto", "required", "none", "user", "1024x1024"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["role", "content", "type", "text", "name"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def body_for(path: str) -> st.SearchStrategy[dict]:
    known = st.dictionaries(st.sampled_from(FIELDS[path]), JSON, max_size=6)
    valid_start = st.fixed_dictionaries(
        {"model": st.just("gpt-image-1" if "images" in path else "gpt-4o-mini")},
    )
    return st.one_of(known, st.builds(lambda a, b: {**a, **b}, valid_start, known))


def check(client: httpx2.Client, path: str, body: dict) -> None:
    raw = json.dumps(body).encode()  # NaN and Infinity too, as a careless client sends them
    resp = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code < 500, (path, body, resp.text[:500])
    if resp.status_code >= 400:
        error = resp.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, (path, body, error)
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize("path", list(FIELDS))
def test_fuzzed_bodies_never_get_a_5xx(mock_openai, path):
    client = httpx2.Client(
        base_url=mock_openai.url,
        headers={"Authorization": "Bearer sk-fuzz", **mock_openai.headers(), "X-Mock-Time-Scale": "0"},
        timeout=10,
    )

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=body_for(path))
    def run(body: dict) -> None:
        check(client, path, body)

    with client:
        run()

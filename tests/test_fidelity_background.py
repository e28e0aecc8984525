"""Background jobs that take time, through the real SDK: with no scenario a background job runs
at a model's pace (queued, then tokens at a steady rate), its length follows the prompt and
``max_output_tokens``, so a create → cancel at once is cancelled and a later poll shows the
output up to the cancel. A scenario's timing overrides the pace; foreground stays at once."""

from __future__ import annotations

import time

import openai
import pytest
from openai.types.responses import Response
from scenario_files import scenario_folder

from mockserver.api import pace

ESSAY = "Write a very long essay about lighthouses"
# The default pace at this scale: queued 5 ms, first token at 10 ms, 6000 tokens a second.
FAST = {"X-Mock-Time-Scale": "0.01"}
# Slow enough to watch: queued 50 ms, first token at 100 ms, a token every 1.7 ms (3000: ~5 s).
WATCH = {"X-Mock-Time-Scale": "0.1"}


@pytest.fixture(scope="module")
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    folder = scenario_folder(
        tmp_path_factory,
        {
            "bg-instant": "description: A scenario without timing, whose background jobs are done at once.\n"
            "match: {endpoint: responses}\nresponse: {tokens: 5}\n",
            "bg-own-pace": "description: A scenario's own timing.\n"
            "match: {endpoint: responses}\nresponse: {ttft_ms: 400, inter_token_ms: 10, tokens: 5}\n",
        },
    )
    return mock_openai_server_factory(scenario_paths=[folder])


def retrieve(client: openai.OpenAI, rid: str, **kw) -> Response:
    return Response.model_validate(client.responses.retrieve(rid, **kw).to_dict())


def poll(client: openai.OpenAI, rid: str, until, headers: dict, deadline_s: float = 10.0) -> list[Response]:
    seen = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        seen.append(retrieve(client, rid, extra_headers=headers))
        if until(seen[-1]):
            return seen
        time.sleep(0.005)
    raise AssertionError(f"{rid} still {seen[-1].status} after {deadline_s} s")


def test_create_then_cancel_at_once_is_cancelled(client):
    created = client.responses.create(model="gpt-4o", input=ESSAY, max_output_tokens=4000, background=True)
    assert created.status == "queued"
    cancelled = client.responses.cancel(created.id)
    Response.model_validate(cancelled.to_dict())
    assert cancelled.status == "cancelled"
    later = retrieve(client, created.id)
    assert later.status == "cancelled" and later.output == []


def test_a_cancel_part_way_keeps_the_output_up_to_the_cancel(client):
    created = client.responses.create(
        model="gpt-4o", input=ESSAY, max_output_tokens=4000, background=True, extra_headers=WATCH
    )
    seen = poll(client, created.id, lambda r: r.output_text.count(" ") >= 20, WATCH)
    statuses = [r.status for r in seen]
    assert statuses[-1] == "in_progress"
    cancelled = client.responses.cancel(created.id, extra_headers=WATCH)
    assert cancelled.status == "cancelled"
    cut = cancelled.output_text
    assert seen[-1].output_text in cut and len(cut.split()) < 3000
    time.sleep(0.05)
    later = retrieve(client, created.id, extra_headers=WATCH)
    assert later.status == "cancelled" and later.output_text == cut
    assert later.output[0].status == "incomplete"


def test_a_default_job_is_queued_then_in_progress_then_completed(client):
    t0 = time.monotonic()
    created = client.responses.create(model="gpt-4o", input="hi", background=True, extra_headers=WATCH)
    assert created.status == "queued"
    seen = poll(client, created.id, lambda r: r.status == "completed", WATCH)
    took = time.monotonic() - t0
    statuses = [r.status for r in seen]
    order = ["queued", "in_progress", "completed"]
    assert statuses == sorted(statuses, key=order.index) and "queued" in statuses
    floor_ms = pace.QUEUE_MS + pace.TTFT_MS + 19 * 1000 / pace.TOKENS_PER_S
    assert took >= floor_ms * 0.1 / 1000
    assert seen[-1].usage.output_tokens == pace.DEFAULT_TOKENS


@pytest.mark.parametrize(
    ("prompt", "limit", "status", "tokens"),
    [
        (ESSAY, 4000, "completed", pace.VERY_LONG_TOKENS),
        ("Explain tides in detail", None, "completed", pace.LONG_TOKENS),
        ("Describe Paris in 300 words", None, "completed", 400),
        (ESSAY, 1000, "incomplete", 1000),
        ("hi", 4000, "completed", pace.DEFAULT_TOKENS),
    ],
)
def test_length_follows_the_prompt_and_max_output_tokens(client, prompt, limit, status, tokens):
    created = client.responses.create(
        model="gpt-4o", input=prompt, max_output_tokens=limit, background=True, extra_headers=FAST
    )
    (*_, done) = poll(client, created.id, lambda r: r.status not in ("queued", "in_progress"), FAST)
    assert done.status == status and done.usage.output_tokens == tokens
    assert len(done.output_text.split()) == tokens


def test_foreground_stays_at_once_and_says_the_same(client):
    t0 = time.monotonic()
    plain = client.responses.create(model="gpt-4o", input=ESSAY, max_output_tokens=4000)
    assert time.monotonic() - t0 < 1.0
    assert plain.status == "completed" and plain.usage.output_tokens == pace.VERY_LONG_TOKENS
    job = client.responses.create(
        model="gpt-4o", input=ESSAY, max_output_tokens=4000, background=True, extra_headers=FAST
    )
    (*_, done) = poll(client, job.id, lambda r: r.status == "completed", FAST)
    assert done.output_text == plain.output_text


def test_x_mock_pace_model_paces_a_foreground_stream(client):
    headers = {"X-Mock-Pace": "model", "X-Mock-Time-Scale": "0.2"}
    t0 = time.monotonic()
    with client.responses.stream(model="gpt-4o", input="hi", extra_headers=headers) as stream:
        first = None
        for event in stream:
            if event.type == "response.output_text.delta" and first is None:
                first = time.monotonic() - t0
        final = stream.get_final_response()
    took = time.monotonic() - t0
    assert first >= pace.TTFT_MS * 0.2 / 1000
    assert took >= (pace.TTFT_MS + 19 * 1000 / pace.TOKENS_PER_S) * 0.2 / 1000
    assert final.status == "completed"


def test_x_mock_pace_model_paces_a_chat_stream(client):
    headers = {"X-Mock-Pace": "model", "X-Mock-Time-Scale": "0.2"}
    t0 = time.monotonic()
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True, extra_headers=headers
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text and time.monotonic() - t0 >= (pace.TTFT_MS + 19 * 1000 / pace.TOKENS_PER_S) * 0.2 / 1000


def test_x_mock_pace_none_makes_a_background_job_instant(client):
    created = client.responses.create(
        model="gpt-4o", input="hi", background=True, extra_headers={"X-Mock-Pace": "none"}
    )
    assert retrieve(client, created.id).status == "completed"


def test_a_bad_x_mock_pace_is_a_400_naming_the_header(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4o", input="hi", extra_headers={"X-Mock-Pace": "warp"})
    assert exc.value.param == "X-Mock-Pace"


def test_a_scenario_sets_the_pace_of_what_it_matches(client):
    instant = client.responses.create(
        model="gpt-4o", input=ESSAY, background=True, extra_headers={"X-Mock-Scenario": "bg-instant"}
    )
    done = retrieve(client, instant.id)
    assert done.status == "completed" and done.usage.output_tokens == 5  # the scenario's length
    own = client.responses.create(
        model="gpt-4o",
        input="hi",
        background=True,
        extra_headers={"X-Mock-Scenario": "bg-own-pace", **WATCH},
    )
    seen = poll(client, own.id, lambda r: r.status == "completed", WATCH)
    assert seen[-1].usage.output_tokens == 5


def test_the_server_time_scale_shrinks_the_default_pace(mock_openai_server_factory):
    mock = mock_openai_server_factory(time_scale=0.01)
    client = openai.OpenAI(base_url=mock.base_url, api_key="sk-test", max_retries=0)
    created = client.responses.create(model="gpt-4o", input="hi", background=True)
    assert created.status == "queued"
    (*_, done) = poll(client, created.id, lambda r: r.status == "completed", {}, deadline_s=2.0)
    assert done.usage.output_tokens == pace.DEFAULT_TOKENS

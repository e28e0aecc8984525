"""Background responses through the real SDK: a job that advances with the clock whoever is
connected, polled with retrieve, resumed with ``starting_after`` after a dropped stream,
cancelled. Timings come from a scenario's ``response:`` block under a small time scale."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai.types.responses import Response
from scenario_files import scenario_folder

from mockserver.api.responses_events import build_events, plan_outputs
from mockserver.api.responses_request import parse_request
from mockserver.api.responses_store import Job
from mockserver.clock import Clock
from mockserver.scenario.schema import ResponseSpec

TIME_SCALE = 0.1
# Scenario ms: queued for half the TTFT, first token at the TTFT, then 19 more tokens. Real time
# under TIME_SCALE: queued until 0.1 s, in progress until 0.39 s.
PACED = "response: {ttft_ms: 2000, inter_token_ms: 100, tokens: 20}"
PACED_END_S = (2000 + 19 * 100) * TIME_SCALE / 1000
# A longer in-progress phase (0.05 s to 0.67 s), for watching a job change state by polling.
STEADY = "response: {ttft_ms: 1000, inter_token_ms: 300, tokens: 20}"
STEADY_END_S = (1000 + 19 * 300) * TIME_SCALE / 1000
# Queued for 3 s of real time: long enough for anything a test does before it cancels.
LONG = "response: {ttft_ms: 60000, inter_token_ms: 1000, tokens: 20}"
# The first streamed create is cut after 6 events (no terminator); the job itself runs on.
DROP = (
    "match: {endpoint: responses, stream: true}\n"
    "attempts: [{fault: drop, after_events: 6}]\n"
    "response: {ttft_ms: 1000, inter_token_ms: 50, tokens: 20}"
)
IMAGE_TOOL = {"type": "image_generation", "partial_images": 2}
STATUS_ORDER = ["queued", "in_progress", "completed"]


@pytest.fixture(scope="module")
def mock_openai_server(tmp_path_factory, mock_openai_server_factory):
    blocks = {
        "responses-paced": PACED,
        "responses-long": LONG,
        "responses-drop": DROP,
        "responses-steady": STEADY,
    }
    folder = scenario_folder(
        tmp_path_factory,
        {name: f"description: Background responses, {name}.\n{block}\n" for name, block in blocks.items()},
    )
    return mock_openai_server_factory(time_scale=TIME_SCALE, scenario_paths=[folder])


def scenario(name: str) -> dict[str, str]:
    return {"X-Mock-Scenario": name}


def validated(event):
    return type(event).model_validate(event.to_dict())


def poll_until_done(client: openai.OpenAI, rid: str, deadline_s: float = 10.0) -> list[Response]:
    seen = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        seen.append(Response.model_validate(client.responses.retrieve(rid).to_dict()))
        if seen[-1].status not in ("queued", "in_progress"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{rid} still {seen[-1].status} after {deadline_s} s")


def test_background_job_goes_queued_in_progress_completed_with_time(client):
    t0 = time.monotonic()
    created = client.responses.create(
        model="gpt-4o", input="Write slowly", background=True, extra_headers=scenario("responses-steady")
    )
    Response.model_validate(created.to_dict())
    assert created.status == "queued" and created.background is True and created.output == []
    polls = poll_until_done(client, created.id)
    elapsed = time.monotonic() - t0
    statuses = [p.status for p in polls]
    assert statuses[-1] == "completed" and elapsed >= STEADY_END_S * 0.9
    assert statuses == sorted(statuses, key=STATUS_ORDER.index)  # never goes back
    assert "in_progress" in statuses  # polled every 20 ms through 0.6 s of work
    final = polls[-1]
    assert final.output_text and final.usage.output_tokens == len(final.output_text.split())
    partial = [p for p in polls if p.status == "in_progress" and p.output]
    assert all(final.output_text.startswith(p.output_text) for p in partial)


def test_resume_after_n_gives_exactly_the_later_events(client):
    created = client.responses.create(
        model="gpt-4o", input="Resume me", background=True, extra_headers=scenario("responses-paced")
    )
    poll_until_done(client, created.id)
    full = [validated(e) for e in client.responses.retrieve(created.id, stream=True)]
    assert [e.sequence_number for e in full] == list(range(len(full)))
    assert [e.type for e in full[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert full[-1].type == "response.completed" and full[-1].response.id == created.id
    for n in (0, 5, len(full) - 2, len(full) - 1):
        resumed = list(client.responses.retrieve(created.id, stream=True, starting_after=n))
        assert [e.to_dict() for e in resumed] == [e.to_dict() for e in full[n + 1 :]]


def test_dropped_stream_does_not_stop_the_job_and_resume_follows_it_live(client):
    t0 = time.monotonic()
    stream = client.responses.create(
        model="gpt-4o",
        input="Keep going without me",
        background=True,
        stream=True,
        extra_headers=scenario("responses-paced"),
    )
    first = []
    for event in stream:
        first.append(validated(event))
        if event.type == "response.output_text.delta":
            break
    stream.close()  # the connection drops part-way through
    rid, last_seen = first[0].response.id, first[-1].sequence_number
    resumed = [validated(e) for e in client.responses.retrieve(rid, stream=True, starting_after=last_seen)]
    elapsed = time.monotonic() - t0
    assert resumed[0].sequence_number == last_seen + 1 and resumed[-1].type == "response.completed"
    assert elapsed >= PACED_END_S * 0.9  # the rest came as it fell due, not all at once
    events = first + resumed
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == resumed[-1].response.output_text == client.responses.retrieve(rid).output_text


def test_stream_helper_resumes_by_response_id(client):
    created = client.responses.create(
        model="gpt-4o", input="Helper resume", background=True, extra_headers=scenario("responses-paced")
    )
    with client.responses.stream(response_id=created.id, starting_after=6) as stream:
        numbers = [e.sequence_number for e in stream]
        final = stream.get_final_response()
    assert numbers[0] == 7 and final.status == "completed" and final.id == created.id
    assert final.output_text == poll_until_done(client, created.id)[-1].output_text


def test_background_image_job_resumes_after_the_first_partial_image(client):
    stream = client.responses.create(
        model="gpt-4o",
        input="A lighthouse",
        background=True,
        stream=True,
        tools=[IMAGE_TOOL],
        extra_headers=scenario("responses-paced"),
    )
    first = []
    for event in stream:
        first.append(validated(event))
        if event.type == "response.image_generation_call.partial_image":
            break
    stream.close()
    rid = first[0].response.id
    resumed = [
        validated(e)
        for e in client.responses.retrieve(rid, stream=True, starting_after=first[-1].sequence_number)
    ]
    partials = [e for e in first + resumed if e.type == "response.image_generation_call.partial_image"]
    assert [p.partial_image_index for p in partials] == [0, 1]
    done = next(e for e in resumed if e.type == "response.output_item.done")
    assert done.item.result and done.item.result == client.responses.retrieve(rid).output[0].result
    full = list(client.responses.retrieve(rid, stream=True))
    assert [e.to_dict() for e in first + resumed] == [e.to_dict() for e in full]


def test_cancel_stops_the_job_where_it_stands(client):
    created = client.responses.create(
        model="gpt-4o", input="Never mind", background=True, extra_headers=scenario("responses-long")
    )
    assert client.responses.retrieve(created.id).status == "queued"
    cancelled = client.responses.cancel(created.id)
    Response.model_validate(cancelled.to_dict())
    assert cancelled.status == "cancelled" and cancelled.id == created.id
    assert client.responses.cancel(created.id).status == "cancelled"  # cancelling twice is harmless
    assert client.responses.retrieve(created.id).status == "cancelled"
    log = list(client.responses.retrieve(created.id, stream=True))
    assert [e.type for e in log] == ["response.created", "response.queued"]  # nothing after the cancel
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_cancel_mid_answer_keeps_the_text_so_far_and_the_log_stops_there(client):
    created = client.responses.create(
        model="gpt-4o", input="Interrupt me", background=True, extra_headers=scenario("responses-steady")
    )
    current = created
    while not (current.status == "in_progress" and current.output and current.output_text):
        assert current.status in ("queued", "in_progress")
        time.sleep(0.02)
        current = client.responses.retrieve(created.id)
    cancelled = client.responses.cancel(created.id)
    Response.model_validate(cancelled.to_dict())
    assert cancelled.status == "cancelled" and cancelled.output[0].status == "incomplete"
    whole = client.responses.create(model="gpt-4o", input="Interrupt me").output_text  # same content key
    assert cancelled.output_text.startswith(current.output_text) and whole.startswith(cancelled.output_text)
    assert cancelled.output_text != whole
    log = list(client.responses.retrieve(created.id, stream=True))
    assert log[-1].type == "response.output_text.delta"  # no terminal event after a cancel
    assert "".join(e.delta for e in log if e.type == "response.output_text.delta") == cancelled.output_text
    time.sleep(STEADY_END_S)
    assert client.responses.retrieve(created.id).to_dict() == cancelled.to_dict()  # frozen where it stood


def test_a_stream_following_a_cancelled_job_ends_where_the_job_stopped(client, mock_openai):
    stream = client.responses.create(
        model="gpt-4o",
        input="Cancel while I listen",
        background=True,
        stream=True,
        extra_headers=scenario("responses-steady"),
    )
    heard, cancelled = [], None
    for event in stream:
        heard.append(validated(event))
        if event.type == "response.output_text.delta" and cancelled is None:
            cancelled = client.responses.cancel(heard[0].response.id)  # mid-stream, from elsewhere
    assert cancelled.status == "cancelled"
    log = list(client.responses.retrieve(heard[0].response.id, stream=True))
    assert [e.to_dict() for e in heard] == [e.to_dict() for e in log]  # nothing after the cancel
    assert heard[-1].type == "response.output_text.delta"
    entries = mock_openai.journal()
    assert entries[0]["endpoint"] == "responses" and entries[0]["ended"] == "complete"


def test_only_running_background_responses_can_be_cancelled(client):
    plain = client.responses.create(model="gpt-4o", input="sync")
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.cancel(plain.id)
    assert exc.value.body["message"] == "Cannot cancel a synchronous response."
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.retrieve(plain.id, stream=True)
    assert exc.value.param == "stream"
    done = client.responses.create(model="gpt-4o", input="quick", background=True)
    poll_until_done(client, done.id)
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.cancel(done.id)
    assert "completed" in exc.value.body["message"]


def test_journal_names_each_responses_endpoint(client, mock_openai):
    created = client.responses.create(model="gpt-4o", input="journal", background=True)
    poll_until_done(client, created.id)
    list(client.responses.retrieve(created.id, stream=True, starting_after=3))
    endpoints = [e["endpoint"] for e in mock_openai.journal()]
    assert endpoints[0] == "responses" and set(endpoints[1:]) == {"responses.retrieve"}


async def test_async_background_poll_and_resume(aclient):
    created = await aclient.responses.create(
        model="gpt-4o", input="async job", background=True, extra_headers=scenario("responses-paced")
    )
    assert created.status == "queued"
    while (current := await aclient.responses.retrieve(created.id)).status != "completed":
        assert current.status in ("queued", "in_progress")
        await asyncio.sleep(0.02)
    resumed = [
        validated(e)
        async for e in await aclient.responses.retrieve(created.id, stream=True, starting_after=10)
    ]
    assert resumed[0].sequence_number == 11 and resumed[-1].response.output_text == current.output_text
    cancel_me = await aclient.responses.create(
        model="gpt-4o", input="stop", background=True, extra_headers=scenario("responses-long")
    )
    assert (await aclient.responses.cancel(cancel_me.id)).status == "cancelled"


def test_a_scenario_drop_on_the_create_stream_is_recovered_by_resuming(client):
    stream = client.responses.create(
        model="gpt-4o",
        input="Survive the drop",
        background=True,
        stream=True,
        extra_headers=scenario("responses-drop"),
    )
    seen = []
    with pytest.raises(openai.APIConnectionError):  # the connection closes mid-stream, no terminator
        for event in stream:
            seen.append(validated(event))
    assert [e.sequence_number for e in seen] == list(range(6))
    rid = seen[0].response.id
    with client.responses.stream(response_id=rid, starting_after=seen[-1].sequence_number) as resumed:
        rest = list(resumed)
        final = resumed.get_final_response()
    assert rest[0].sequence_number == 6 and final.status == "completed"
    text = "".join(e.delta for e in seen + rest if e.type == "response.output_text.delta")
    assert text == final.output_text


def test_scenario_timing_paces_a_plain_stream(client):
    t0 = time.monotonic()
    arrivals = []
    for event in client.responses.create(
        model="gpt-4o", input="Pace me", stream=True, extra_headers=scenario("responses-paced")
    ):
        arrivals.append((event.type, time.monotonic() - t0))
    first_delta = next(t for kind, t in arrivals if kind == "response.output_text.delta")
    assert arrivals[0][1] < first_delta  # created and in_progress come first, at once
    assert first_delta >= 2000 * TIME_SCALE / 1000 * 0.9  # the scenario's TTFT, under the time scale
    assert arrivals[-1][1] >= PACED_END_S * 0.9


# --- the job timeline, without a server ----------------------------------------------------------


def job_of(spec: ResponseSpec, time_scale: float = 1.0) -> Job:
    req = parse_request({"model": "gpt-4o", "input": "timeline", "background": True})
    events = build_events(req, "resp_t", 0, plan_outputs(req, spec, 0, "resp_t"), spec, time_scale)
    return Job.start("resp_t", req.model, True, events, Clock(time_scale))


def test_follow_sends_what_is_due_at_once_and_the_rest_at_its_due_time():
    job = job_of(ResponseSpec(tokens=5, ttft_ms=100, inter_token_ms=10))
    assert job.due_ms[-1] == 140  # TTFT, then four more tokens
    assert job.emitted(49) == 2 and job.status(49) == "queued"  # created, queued
    assert job.status(50) == "in_progress" and job.status(140) == "completed"
    later = job.follow(starting_after=3, now_ms=115)
    assert [e.data["sequence_number"] for e in later] == list(range(4, len(job.events)))
    due_now = [e for e in later if job.due_ms[e.data["sequence_number"]] <= 115]
    assert due_now and all(e.delay_ms == 0 for e in due_now)
    assert sum(e.delay_ms for e in later) == pytest.approx(140 - 115)
    # a follower whose clock runs twice as fast waits twice as many of its own ms
    assert sum(e.delay_ms for e in job.follow(3, 115, time_scale=0.5)) == pytest.approx(2 * (140 - 115))


def test_followed_events_are_copies_and_a_cancel_freezes_the_timeline():
    job = job_of(ResponseSpec(tokens=5, ttft_ms=100, inter_token_ms=10))
    copy = job.follow(-1, 0.0)
    copy[0].data["sequence_number"] = 99  # what a fault may do to its events
    assert job.events[0].data["sequence_number"] == 0
    job.cancel(105)
    assert job.status(10_000) == "cancelled" and job.emitted(10_000) == job.emitted(105)
    assert len(job.follow(-1, 10_000)) == job.emitted(105)

"""Each fault as a pure transform of a Reply, on chat-, Responses- and Images-shaped streams."""

from __future__ import annotations

import math
import random

import pytest
from openai.types.responses import ResponseErrorEvent

from mockserver.api import chat, responses
from mockserver.reply import DROPPED, GENERIC, RESET, TRUNCATED, Reply, StreamEvent
from mockserver.scenario import faults as F
from mockserver.scenario.ratelimit import RateLimiter, RateLimits, format_reset


def fc(seed: int = 1) -> F.FaultContext:
    return F.FaultContext(rng=random.Random(seed), key=("sc", "s1"), now_ms=0.0, limits=RateLimits())


def chat_stream() -> Reply:
    T = "chat.completion.chunk"
    events = [StreamEvent({"choices": [{"delta": {"role": "assistant"}}]}, type=T, delay_ms=100)]
    events += [
        StreamEvent({"choices": [{"delta": {"content": f"w{i}"}}]}, type=T, content=True, delay_ms=10)
        for i in range(4)
    ]
    events.append(StreamEvent("[DONE]", type="done", terminal=True))
    return Reply(events=events, model="gpt-4o", vocabulary=chat.VOCABULARY)


def responses_stream() -> Reply:
    kinds = [
        "response.created",
        "response.in_progress",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.completed",
    ]
    return Reply(
        events=[
            StreamEvent(
                {"type": k, "sequence_number": i},
                event=k,
                type=k,
                content=k.endswith("delta"),
                terminal=k == "response.completed",
            )
            for i, k in enumerate(kinds)
        ],
        vocabulary=responses.VOCABULARY,
    )


def images_stream() -> Reply:
    kinds = ["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed"]
    return Reply(
        events=[
            StreamEvent(
                {"type": k}, event=k, type=k, content=True, delay_ms=50, terminal=k.endswith("completed")
            )
            for k in kinds
        ]
    )


def run(fault: F.Fault, reply: Reply) -> Reply:
    return fault.apply(reply, fc())


# --- in-band errors, shaped per stream ------------------------------------------------------


def test_error_event_on_chat_is_a_bare_data_frame_with_an_error_object():
    out = run(F.ErrorEvent(after_events=2), chat_stream())
    err = out.events[-1]
    assert len(out.events) == 3 and err.event is None
    assert err.encode().startswith(b'data: {"error":{"message":"The server had an error')
    assert err.data["error"] == {
        "message": F.ErrorEvent().message,
        "type": "server_error",
        "param": None,
        "code": "server_error",
    }


def test_error_event_on_responses_is_an_error_event_with_the_next_sequence_number():
    out = run(
        F.ErrorEvent(after_events=3, code="rate_limit_exceeded", message="slow down"), responses_stream()
    )
    err = out.events[-1]
    assert err.encode().startswith(b"event: error\ndata: ")
    parsed = ResponseErrorEvent.model_validate(err.data)
    assert (parsed.code, parsed.message, parsed.param, parsed.sequence_number) == (
        "rate_limit_exceeded",
        "slow down",
        None,
        3,
    )


def test_error_event_on_images_wraps_an_error_object():
    out = run(F.ErrorEvent(after_events=1), images_stream())
    assert [e.type for e in out.events] == ["image_generation.partial_image", "error"]
    assert out.events[-1].event == "error"
    assert out.events[-1].data["type"] == "error" and out.events[-1].data["error"]["code"] == "server_error"
    assert out.events[-1].delay_ms == 50  # it takes the place of the event it replaces


@pytest.mark.parametrize(
    ("reply", "vocabulary"),
    [(chat_stream, chat.VOCABULARY), (responses_stream, responses.VOCABULARY), (images_stream, GENERIC)],
)
def test_a_fault_speaks_the_vocabulary_of_the_reply_it_is_given(reply, vocabulary):
    out = run(F.Malformed(after_events=1), reply())
    assert out.vocabulary is vocabulary and out.events[1].data == vocabulary.malformed


# --- cuts -----------------------------------------------------------------------------------


def test_drop_after_events_keeps_n_and_never_the_terminator():
    out = run(F.Drop(after_events=3), chat_stream())
    assert len(out.events) == 3 and out.ending == DROPPED
    assert not any(e.terminal for e in run(F.Drop(after_events=99), chat_stream()).events)


def test_drop_after_ms_keeps_what_was_sent_by_then_and_waits_out_the_rest():
    out = run(F.Drop(after_ms=125), chat_stream())  # events at 100, 110, 120, 130...
    assert [e.type for e in out.events] == ["chat.completion.chunk"] * 3 + ["pause"]
    assert out.events[-1].delay_ms == pytest.approx(5) and out.events[-1].encode() == b""


def test_reset_zero_is_before_any_byte_and_otherwise_a_cut():
    before = run(F.Reset(after_events=0), chat_stream())
    assert before.events is None and before.ending == RESET
    later = run(F.Reset(after_events=2), responses_stream())
    assert len(later.events) == 2 and later.ending == RESET


def test_truncate_cuts_inside_the_next_frame():
    reply = responses_stream()
    whole = reply.events[2].encode()
    out = run(F.Truncate(after_events=2), reply)
    assert out.ending == TRUNCATED and len(out.events) == 3
    cut = out.events[-1].encode()
    assert whole.startswith(cut) and 0 < len(cut) < len(whole) and not cut.endswith(b"\n\n")


def test_cuts_on_a_plain_body():
    body = Reply(body={"ok": True}, delay_ms=40)
    assert run(F.Drop(after_ms=5), body).ending == DROPPED and run(F.Drop(after_ms=5), body).delay_ms == 5
    assert run(F.Truncate(), body).ending == TRUNCATED
    assert run(F.Reset(after_events=0), body).ending == RESET


# --- event edits ----------------------------------------------------------------------------


def test_omit_removes_every_event_of_the_named_types():
    out = run(F.Omit(types=["image_generation.partial_image"]), images_stream())
    assert [e.type for e in out.events] == ["image_generation.completed"]


def test_no_done_removes_the_terminator_on_each_stream_shape():
    for reply in (chat_stream(), responses_stream(), images_stream()):
        out = run(F.NoDone(), reply)
        assert len(out.events) == len(reply.events) - 1 and not any(e.terminal for e in out.events)


def test_malformed_inserts_a_frame_that_is_not_json():
    out = run(F.Malformed(after_events=2), responses_stream())
    bad = out.events[2]
    assert len(out.events) == 6
    # a frame of the reply's own API, cut short (it was a chat chunk on every API)
    assert bad.encode().startswith(
        b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta"'
    )
    with pytest.raises(ValueError):
        import json

        json.loads(bad.data)


def test_duplicate_repeats_one_event_without_delay():
    out = run(F.Duplicate(after_events=1, count=2), chat_stream())
    assert [e.data for e in out.events[1:4]] == [chat_stream().events[1].data] * 3
    assert [e.delay_ms for e in out.events[1:4]] == [10, 0, 0]


def test_out_of_order_swaps_two_neighbours_and_keeps_the_timing():
    out = run(F.OutOfOrder(), responses_stream())
    assert [e.data["sequence_number"] for e in out.events] == [0, 1, 3, 2, 4]
    assert run(F.OutOfOrder(after_events=3), responses_stream()).events[3].data["sequence_number"] == 3


# --- timing ---------------------------------------------------------------------------------


def test_stall_adds_silence_before_the_next_event():
    out = run(F.Stall(after_events=2, duration_ms=30_000), chat_stream())
    assert [e.delay_ms for e in out.events] == [100, 10, 30_010, 10, 10, 0]
    assert run(F.Stall(duration_ms=5), Reply(body={}, delay_ms=1)).delay_ms == 6


def test_slow_sets_ttft_and_gaps_from_a_seeded_draw():
    fault = F.Slow(ttft_ms=500, inter_token_ms=40, jitter_ms=10, distribution="uniform")
    a, b = fault.apply(chat_stream(), fc(3)), fault.apply(chat_stream(), fc(3))
    assert [e.delay_ms for e in a.events] == [e.delay_ms for e in b.events]
    assert 490 <= a.events[0].delay_ms <= 510 and a.events[1].delay_ms == 0
    assert all(30 <= e.delay_ms <= 50 for e in a.events[2:5])
    assert a.events[-1].delay_ms == 0
    assert F.Slow(ttft_ms=70).apply(Reply(body={}), fc()).delay_ms == 70


@pytest.mark.parametrize("distribution", ["fixed", "uniform", "normal", "lognormal"])
def test_distributions_are_never_negative_and_centre_on_the_mean(distribution):
    rng = random.Random(5)
    draws = [F.draw(rng, 100, 20, distribution) for _ in range(2000)]
    assert sum(draws) / len(draws) == pytest.approx(100, rel=0.05)
    # near zero, a third of the plain uniform and normal draws would be negative: held at 0
    near_zero = [F.draw(rng, 10, 20, distribution) for _ in range(300)]
    assert min(near_zero) >= 0


def test_buffered_moves_all_waiting_to_before_the_first_event():
    out = run(F.Buffered(), chat_stream())
    assert [e.delay_ms for e in out.events] == [140, 0, 0, 0, 0, 0]


def test_heartbeat_sets_interval_and_text_and_null_turns_it_off():
    out = run(F.Heartbeat(interval_ms=100, text="ping"), chat_stream())
    assert (out.heartbeat_ms, out.heartbeat_text) == (100, "ping")
    assert run(F.Heartbeat(interval_ms=None), replace_hb(chat_stream())).heartbeat_ms is None


def replace_hb(reply: Reply) -> Reply:
    reply.heartbeat_ms = 50
    return reply


# --- replacements ---------------------------------------------------------------------------


def test_http_error_body_and_retry_headers():
    out = run(
        F.HttpError(
            status=429, retry_after=2, retry_after_ms=1500, should_retry=False, headers={"x-extra": "1"}
        ),
        chat_stream(),
    )
    assert out.status == 429 and out.events is None
    assert out.body["error"]["code"] == "rate_limit_exceeded"
    assert out.headers == {
        "retry-after": "2",
        "retry-after-ms": "1500",
        "x-should-retry": "false",
        "x-extra": "1",
    }


def test_html_error_and_hang():
    page = run(F.HtmlError(status=504), chat_stream())
    assert page.content_type == "text/html" and "504 Gateway Timeout" in page.body
    assert math.isinf(run(F.Hang(), chat_stream()).delay_ms)


def test_faults_run_in_a_fixed_order_whatever_the_file_says():
    from mockserver.scenario.schema import FaultSpec

    built = F.build_all(
        [
            FaultSpec("drop", {"after_events": 1}),
            FaultSpec("slow", {"ttft_ms": 5}),
            FaultSpec("omit", {"types": ["x"]}),
            FaultSpec("rate_limit", {"rpm": 5}),
        ]
    )
    assert [f.name for f in built] == ["rate_limit", "omit", "slow", "drop"]


# --- the rate limiter -----------------------------------------------------------------------


def test_token_bucket_counts_down_refuses_and_refills():
    limiter = RateLimiter(rpm=2, tpm=None, now_ms=0)
    first, second, third = (limiter.take(1, 0) for _ in range(3))
    assert [d.headers["x-ratelimit-remaining-requests"] for d in (first, second)] == ["1", "0"]
    assert first.headers["x-ratelimit-reset-requests"] == "30s"
    assert not third.allowed and third.kind == "requests" and third.retry_after_ms == pytest.approx(30_000)
    assert limiter.take(1, 30_000).allowed  # one request's worth refilled after 30 s
    assert limiter.take(1, 30_000).allowed is False


def test_token_limit_and_tokens_of_a_reply():
    limiter = RateLimiter(rpm=None, tpm=100, now_ms=0)
    assert limiter.take(60, 0).allowed
    refused = limiter.take(60, 0)
    assert (
        not refused.allowed
        and refused.kind == "tokens"
        and refused.headers["x-ratelimit-remaining-tokens"] == "40"
    )
    usage = Reply(body={"usage": {"total_tokens": 33}})
    assert F.tokens_of(usage) == 33
    assert F.tokens_of(chat_stream()) == 4


def test_rate_limit_fault_adds_headers_or_answers_429():
    limits = RateLimits()
    fault = F.RateLimitFault(rpm=1)
    context = F.FaultContext(rng=random.Random(0), key=("sc", "s1"), now_ms=0, limits=limits)
    ok = fault.apply(chat_stream(), context)
    assert ok.events is not None and ok.headers["x-ratelimit-remaining-requests"] == "0"
    refused = fault.apply(chat_stream(), context)
    assert refused.status == 429 and refused.headers["retry-after"] == "60"
    assert refused.headers["retry-after-ms"] == "60000"
    limits.reset("s1")
    assert fault.apply(chat_stream(), context).status == 200


@pytest.mark.parametrize(
    "ms,text", [(0, "0ms"), (5.2, "6ms"), (1500, "1.5s"), (60_000, "1m0s"), (125_500, "2m5.5s")]
)
def test_reset_durations_read_like_openais(ms, text):
    assert format_reset(ms) == text

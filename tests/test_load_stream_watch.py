"""What a load client counts as TTFT, a retry and a failure, on the gateway's and the mock's streams."""

from __future__ import annotations

import pytest

from harness.load.stream_watch import CHAT, GATEWAY, StreamWatch
from mockserver.sse import DONE, encode_comment, encode_event
from servekit.sse import Frame, SSEReader


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def watch(protocol: str, timeline: list[tuple[float, bytes]], end_ms: float):
    """Feed raw bytes arriving at the given times (ms) through a reader into a watch."""
    reader, w = SSEReader(), StreamWatch(protocol)
    for t, data in timeline:
        for frame in reader.feed(data):
            w.feed(frame, t)
    return w.finish(end_ms)


GATEWAY_OK = [
    (1.0, encode_comment("Connected to chat stream")),
    (60.0, encode_comment("heartbeat 1704074400000")),
    (150.0, encode_event({"text": "Hello"}, "token")),
    (170.0, encode_event({"text": " there"}, "token")),
    (200.0, encode_event({"text": "."}, "token")),
    (
        201.0,
        encode_event({"tokens_in": 5, "tokens_out": 3, "cost_usd": 0.0, "model": "gpt-4o-mini"}, "usage"),
    ),
    (202.0, encode_event({"finish_reason": "stop", "provider_retry_count": 1}, "done")),
]


def test_gateway_ttft_is_the_first_token_never_a_comment_or_heartbeat():
    out = watch(GATEWAY, GATEWAY_OK, 203.0)
    assert out.ok and out.failure is None
    assert out.ttft_ms == 150.0
    assert out.gaps_ms == [20.0, 30.0]
    assert out.tokens == 3
    assert out.total_ms == 203.0
    assert out.retries == 1 and out.finish_reason == "stop"


def test_gateway_in_band_error_is_a_failure_even_with_done():
    timeline = [
        (1.0, encode_comment("Connected to chat stream")),
        (
            90.0,
            encode_event({"code": "RATE_LIMIT", "message": "Overloaded, please try again soon."}, "error"),
        ),
        (91.0, encode_event({"finish_reason": "error", "provider_retry_count": 2}, "done")),
    ]
    out = watch(GATEWAY, timeline, 92.0)
    assert not out.ok
    assert out.failure == "in_band_error: RATE_LIMIT"
    assert out.ttft_ms is None and out.retries == 2


def test_gateway_stream_without_done_is_a_failure():
    out = watch(GATEWAY, GATEWAY_OK[:-1], 250.0)
    assert not out.ok and out.failure == "no_terminator"
    assert out.ttft_ms == 150.0


def test_gateway_done_with_finish_reason_error_is_a_failure():
    out = watch(GATEWAY, [(5.0, encode_event({"finish_reason": "error"}, "done"))], 6.0)
    assert not out.ok and out.failure.startswith("in_band_error")


def test_chat_role_only_first_chunk_does_not_count_as_the_first_token():
    timeline = [
        (150.0, encode_event(chunk({"role": "assistant", "content": "", "refusal": None}))),
        (151.0, encode_event(chunk({"content": "Hi"}))),
        (171.0, encode_event(chunk({"content": "!"}))),
        (172.0, encode_event(chunk({}, "stop"))),
        (172.5, DONE),
    ]
    out = watch(CHAT, timeline, 173.0)
    assert out.ok
    assert out.ttft_ms == 151.0 and out.gaps_ms == [20.0] and out.tokens == 2


def test_chat_tool_call_arguments_count_as_content():
    head = {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "function": {"arguments": ""}}]}
    args = {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}
    out = watch(
        CHAT, [(10.0, encode_event(chunk(head))), (12.0, encode_event(chunk(args))), (13.0, DONE)], 14.0
    )
    assert out.ok and out.ttft_ms == 12.0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            encode_event({"error": {"message": "boom", "type": "server_error", "code": "server_error"}}),
            "in_band_error: server_error",
        ),
        (b"data: {not json\n\n", "malformed: {not json"),
    ],
)
def test_chat_in_band_error_or_malformed_frame_is_a_failure(data, reason):
    timeline = [(5.0, encode_event(chunk({"content": "Hi"}))), (6.0, data), (7.0, DONE)]
    out = watch(CHAT, timeline, 8.0)
    assert not out.ok and out.failure == reason


def test_chat_stream_cut_before_done_is_a_failure():
    out = watch(CHAT, [(5.0, encode_event(chunk({"content": "Hi"})))], 9.0)
    assert not out.ok and out.failure == "no_terminator"


def test_unknown_protocol_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown stream protocol 'websocket'"):
        StreamWatch("websocket")


def test_reader_joins_frames_split_anywhere_and_handles_crlf_and_multiline_data():
    raw = b'event: token\r\ndata: {"text":\r\ndata: "x"}\r\n\r\n: ping\n\ndata: [DONE]\n\n'
    reader, frames = SSEReader(), []
    for i in range(len(raw)):  # one byte at a time
        frames += reader.feed(raw[i : i + 1])
    assert frames == [
        Frame("token", '{"text":\n"x"}'),
        Frame(None, "", comment="ping"),
        Frame(None, "[DONE]"),
    ]
    assert not reader.pending


def test_reader_knows_when_a_stream_was_cut_inside_a_frame():
    reader = SSEReader()
    assert reader.feed(b'data: {"choices": [') == []
    assert reader.pending

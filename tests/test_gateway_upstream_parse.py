"""The gateway's reader of the upstream chat stream: the SDK's semantics, without its models."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest

from harness.gateway.upstream import Piece, pieces_of_stream
from servekit.sse import SSEReader

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


async def _frames(*chunks: bytes):
    """The frames the project's one SSE reader makes of these network chunks."""
    reader = SSEReader()
    for chunk in chunks:
        for frame in reader.feed(chunk):
            yield frame


async def _pieces(*lines: str) -> list[Piece]:
    """Each line sent as its own event (a blank line after it), as a server writes them."""
    body = "".join(line + "\n\n" for line in lines).encode()
    return [p async for p in pieces_of_stream(_frames(body), REQUEST)]


def _chunk(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> str:
    body = {
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
        "usage": usage,
    }
    return "data: " + json.dumps(body)


async def test_text_finish_and_usage_in_order_and_done_ends_it():
    pieces = await _pieces(
        ": keep-alive",
        "",
        _chunk({"role": "assistant", "content": ""}),
        "",
        _chunk({"content": "Hi"}),
        _chunk({"content": " there"}),
        _chunk({}, "stop"),
        _chunk({}, usage={"prompt_tokens": 5, "completion_tokens": 2}, choices=False),
        "data: [DONE]",
        _chunk({"content": "after done is ignored"}),
    )
    assert pieces == [
        Piece(text="Hi"),
        Piece(text=" there"),
        Piece(finish_reason="stop"),
        Piece(tokens_in=5, tokens_out=2),
    ]


async def test_in_band_error_raises_the_sdk_api_error():
    with pytest.raises(openai.APIError) as exc:
        await _pieces(
            _chunk({"content": "a"}),
            'data: {"error": {"message": "boom", "type": "server_error", "code": "server_error"}}',
        )
    assert exc.value.message == "boom" and exc.value.body["code"] == "server_error"


async def test_a_data_line_that_is_not_json_raises():
    with pytest.raises(ValueError):
        await _pieces(_chunk({"content": "a"}), "data: {not json")


async def test_other_choices_are_not_relayed():
    line = "data: " + json.dumps(
        {"choices": [{"index": 1, "delta": {"content": "x"}, "finish_reason": None}]}
    )
    assert await _pieces(line) == []


async def test_an_event_split_across_network_chunks_and_data_lines_reads_as_the_sdk_reads_it():
    body = b'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "Hi"}, "finish_reason": null}]}\n\n'
    body += b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\r\n\r\ndata: [DONE]\n\n'
    cut = [body[:7], body[7:40], body[40:]]  # cut inside a field name and inside the JSON
    pieces = [p async for p in pieces_of_stream(_frames(*cut), REQUEST)]
    assert pieces == [Piece(text="Hi"), Piece(finish_reason="stop")]

"""The gateway's reader of the upstream chat stream: the SDK's semantics, without its models."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest

from harness.gateway.upstream import Piece, pieces_of_stream

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


async def _lines(*lines: str):
    for line in lines:
        yield line


async def _pieces(*lines: str) -> list[Piece]:
    return [p async for p in pieces_of_stream(_lines(*lines), REQUEST)]


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

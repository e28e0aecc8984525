"""Seed 004's validation curls: a bad body gets 400 JSON naming the field, before any stream opens."""

from __future__ import annotations

import pytest
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SESSION_ID, auth, chat

from harness.gateway.validation import ChatRequest, ValidationError, parse_chat_body, validate_chat


def test_valid_bodies():
    assert validate_chat({"message": "test"}) == ChatRequest("test")
    assert validate_chat(
        {"message": "What did we discuss before?", "useMemory": True, "sessionId": SESSION_ID}
    ) == ChatRequest("What did we discuss before?", SESSION_ID, True)
    assert validate_chat({"message": "a" * 4000}).message == "a" * 4000


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"message": ""}, "message", "too_short"),
        ({"message": "   "}, "message", "too_short"),
        ({"message": "a" * 4001}, "message", "too_long"),
        ({}, "message", "missing_field"),
        ({"message": 42}, "message", "invalid_type"),
        ({"message": "test", "sessionId": "bad-format"}, "sessionId", "invalid_format"),
        ({"message": "test", "sessionId": "session-20250819-143022-A1B2"}, "sessionId", "invalid_format"),
        ({"message": "test", "sessionId": 7}, "sessionId", "invalid_type"),
        ({"message": "test", "useMemory": "yes"}, "useMemory", "invalid_type"),
        ({"message": "test", "temperature": 2}, "temperature", "unknown_field"),
    ],
)
def test_invalid_bodies_name_the_field(body, param, code):
    with pytest.raises(ValidationError) as err:
        validate_chat(body)
    assert (err.value.param, err.value.code) == (param, code)
    assert param in err.value.message


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object(raw):
    with pytest.raises(ValidationError) as err:
        parse_chat_body(raw)
    assert err.value.code == "invalid_json"


# the seed's curl examples, against the running gateway and mock
SEED_CURLS = [
    ({"message": ""}, "message"),
    ({"message": "a" * 4100}, "message"),
    ({"message": "test", "sessionId": "bad-format"}, "sessionId"),
    ({"message": "test", "sessionId": "invalid"}, "sessionId"),
    ({"message": "test", "useMemory": "true"}, "useMemory"),
]


@pytest.mark.parametrize(("body", "param"), SEED_CURLS)
async def test_invalid_request_gets_400_json_and_no_upstream_call(gateway, mock_openai, body, param):
    answer = await chat(gateway.url, body, auth(session=mock_openai.session))
    assert answer.status == 400
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["X-Request-Id"]
    error = answer.frames[0].data["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert mock_openai.journal() == []


async def test_malformed_json_gets_400(gateway, mock_openai):
    answer = await chat(
        gateway.url,
        None,
        auth(session=mock_openai.session, **{"Content-Type": "application/json"}),
        raw=b'{"message": "unterminated',
    )
    assert answer.status == 400
    assert answer.frames[0].data["error"]["code"] == "invalid_json"


async def test_valid_session_id_streams(gateway, mock_openai):
    answer = await chat(
        gateway.url, {"message": "test", "sessionId": SESSION_ID}, auth(session=mock_openai.session)
    )
    assert answer.status == 200
    assert answer.names[-1] == "done"
    assert answer.of("done")[0].data["finish_reason"] == "stop"
    assert len(mock_openai.journal()) == 1

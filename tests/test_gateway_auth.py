"""Seed 004: a request without a valid HS256 JWT gets 401 JSON, never a stream."""

from __future__ import annotations

import time

import jwt
import pytest
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SECRET, SESSION_ID, auth, chat, journal

from harness.gateway.auth import AuthError, mint_token, verify_token


def test_minted_token_verifies_with_its_claims():
    token = mint_token(SECRET, sub="user-1", ttl_s=60, email="a@example.com", aud="authenticated")
    principal = verify_token(token, SECRET)
    assert principal.sub == "user-1"
    assert principal.claims["email"] == "a@example.com"
    assert principal.claims["exp"] - time.time() == pytest.approx(60, abs=5)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_audience_is_checked_when_configured():
    token = mint_token(SECRET, aud="authenticated")
    assert verify_token(token, SECRET, audience="authenticated").sub == "test-user"
    with pytest.raises(AuthError, match="aud"):
        verify_token(token, SECRET, audience="someone-else")


def _alg_none() -> str:
    return jwt.encode({"sub": "intruder", "exp": int(time.time()) + 60}, None, algorithm="none")


BAD_TOKENS = {
    "missing": None,
    "not bearer": "Basic dXNlcjpwYXNz",
    "garbage": "Bearer not-a-jwt",
    "expired": "Bearer " + mint_token(SECRET, ttl_s=-30),
    "wrong signature": "Bearer " + mint_token("another-secret-that-is-long-enough-too"),
    "alg none": "Bearer " + _alg_none(),
    "no exp": "Bearer " + jwt.encode({"sub": "u"}, SECRET, algorithm="HS256"),
}
EXPECTED_CODES = {"missing": "missing_token", "not bearer": "missing_token", "expired": "token_expired"}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_chat_refuses_bad_tokens_with_401_json(gateway, gateway_mock, mock_session, case):
    headers = {"X-Mock-Session": mock_session}
    if BAD_TOKENS[case] is not None:
        headers["Authorization"] = BAD_TOKENS[case]
    answer = await chat(gateway.url, {"message": "Hello, how are you?", "sessionId": SESSION_ID}, headers)
    assert answer.status == 401
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    error = answer.frames[0].data["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == EXPECTED_CODES.get(case, "invalid_token")
    assert error["message"]
    assert journal(gateway_mock, mock_session) == []  # nothing reached the upstream


async def test_auth_ping_answers_with_the_subject(gateway):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(gateway.url + "/api/v1/auth/ping", headers=auth(sub="user-42")) as resp:
            assert resp.status == 200
            body = await resp.json()
        async with session.get(
            gateway.url + "/api/v1/auth/ping", headers={"Authorization": BAD_TOKENS["expired"]}
        ) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "token_expired"
    assert body["ok"] is True
    assert body["sub"] == "user-42"

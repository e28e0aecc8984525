"""Seed 004: a request without a valid HS256 JWT gets 401 JSON, never a stream."""

from __future__ import annotations

import time

import jwt
import pytest
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SECRET, SESSION_ID, auth, chat

from harness.gateway.auth import AuthError, TokenCache, mint_token, verify_token


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
async def test_chat_refuses_bad_tokens_with_401_json(gateway, mock_openai, case):
    headers = {"X-Mock-Session": mock_openai.session}
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
    assert mock_openai.journal() == []  # nothing reached the upstream


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


# --- verified tokens are cached while their exp holds ----------------------------------------


class CountingVerify:
    """Stands in for verify_token: counts the checks; ``refuse`` makes the next one fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.refuse: AuthError | None = None

    def __call__(self, token: str, secret: str, audience: str | None = None, max_ttl_s=None):
        self.calls += 1
        if self.refuse is not None:
            raise self.refuse
        return real_verify(token, secret, audience, max_ttl_s)


real_verify = verify_token


@pytest.fixture
def counting(monkeypatch) -> CountingVerify:
    import harness.gateway.auth as auth_module

    counter = CountingVerify()
    monkeypatch.setattr(auth_module, "verify_token", counter)
    return counter


def test_a_token_is_verified_once_while_it_is_valid(counting):
    now = [time.time()]
    cache = TokenCache(SECRET, clock=lambda: now[0])
    token = mint_token(SECRET, sub="streamer", ttl_s=60)
    for _ in range(5):
        assert cache.authenticate("Bearer " + token).sub == "streamer"
    assert counting.calls == 1
    other = mint_token(SECRET, sub="another", ttl_s=60)
    assert cache.authenticate("Bearer " + other).sub == "another"
    assert counting.calls == 2


def test_a_cached_token_is_checked_again_once_its_exp_has_passed(counting):
    token = mint_token(SECRET, ttl_s=60)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    now = [exp - 1.0]
    cache = TokenCache(SECRET, clock=lambda: now[0])
    cache.authenticate("Bearer " + token)
    now[0] = exp  # the token's last valid second is over: PyJWT would now say it expired
    counting.refuse = AuthError("token_expired", "The token has expired: sign in again.")
    with pytest.raises(AuthError) as caught:
        cache.authenticate("Bearer " + token)
    assert caught.value.code == "token_expired" and counting.calls == 2


def test_refused_tokens_are_never_cached(counting):
    cache = TokenCache(SECRET)
    forged = mint_token("another-secret-that-is-long-enough-too")
    for _ in range(3):
        with pytest.raises(AuthError, match="signature"):
            cache.authenticate("Bearer " + forged)
    assert counting.calls == 3
    with pytest.raises(AuthError, match="Missing Authorization"):
        cache.authenticate(None)


def test_the_cache_is_bounded_and_keyed_by_secret_and_audience(counting):
    cache = TokenCache(SECRET, audience="authenticated", size=2)
    tokens = [mint_token(SECRET, sub=f"u{i}", aud="authenticated") for i in range(3)]
    for token in tokens:
        cache.authenticate("Bearer " + token)
    assert len(cache._valid) == 2 and tokens[0] not in cache._valid  # the oldest went first
    with pytest.raises(AuthError, match="aud"):
        cache.authenticate("Bearer " + mint_token(SECRET, aud="someone-else"))

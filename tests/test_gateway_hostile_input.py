"""Hostile input at the gateway: every one of these gets a JSON 401 or 400 naming what is wrong,
before any stream, and no traceback in the log - never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import jwt
import pytest
from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SECRET, auth, chat

from harness.gateway.auth import MAX_TOKEN_CHARS, mint_token


def token_with(**claims) -> str:
    payload = {"sub": "user", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


HOSTILE_TOKENS = {
    "non-ASCII bytes after a good token": (mint_token(SECRET) + "ééé").encode(),
    "a token over the size limit": ("a" * (MAX_TOKEN_CHARS + 1)).encode(),
    "exp as a numeric string": token_with(exp=str(int(time.time()) + 600)).encode(),
    "exp as 10**400": token_with(exp=10**400).encode(),
    "exp a century away": token_with(exp=int(time.time()) + 100 * 365 * 86400).encode(),
    "iat as a string": token_with(iat="yesterday").encode(),
    "nbf as a boolean": token_with(nbf=True).encode(),
}


async def raw_post(url: str, path: str, header_lines: list[bytes], body: bytes) -> tuple[int, bytes, bytes]:
    """POST with header bytes exactly as given (no client library would send non-ASCII ones)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {path} HTTP/1.1".encode(), f"Host: {host}".encode(), b"Connection: close"]
    head += [*header_lines, b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    raw = await reader.read()
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), headers, payload


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
async def test_a_hostile_token_is_a_401_with_a_reason(gateway, token, caplog):
    caplog.set_level(logging.INFO)
    status, headers, payload = await raw_post(
        gateway.url, "/api/v1/chat", [b"Authorization: Bearer " + token], b'{"message": "hi"}'
    )
    assert status == 401, payload
    assert b"application/json" in headers.lower()
    body = json.loads(payload)
    assert body["error"]["type"] == "authentication_error" and body["error"]["code"] == "invalid_token"
    assert body["error"]["message"]
    assert not [r for r in caplog.records if r.exc_info]


BAD_BODIES = {
    "10,000-deep JSON": (b"[" * 10_000 + b"]" * 10_000, None, "invalid_json"),
    "a lone surrogate in the message": (b'{"message": "hi \\ud800 there"}', None, "invalid_json"),
    "invalid UTF-8": (b'{"message": "\xff\xfe"}', None, "invalid_json"),
    "a sessionId with a trailing newline": (
        b'{"message": "hi", "sessionId": "session-20250819-143022-a1b2\\n"}',
        "sessionId",
        "invalid_format",
    ),
}


@pytest.mark.parametrize(("raw", "param", "code"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_hostile_body_is_a_400_before_any_stream(gateway, raw, param, code, caplog):
    caplog.set_level(logging.INFO)
    answer = await chat(gateway.url, None, auth(), raw=raw)
    assert answer.status == 400
    [frame] = answer.frames
    assert frame.data["error"]["param"] == param and frame.data["error"]["code"] == code
    assert not [r for r in caplog.records if r.exc_info]


def test_a_token_that_lives_up_to_the_maximum_is_accepted():
    from harness.gateway.auth import verify_token

    token = mint_token(SECRET, ttl_s=86_000)
    assert verify_token(token, SECRET, max_ttl_s=86_400).sub == "test-user"

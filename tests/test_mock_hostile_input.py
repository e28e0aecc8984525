"""Hostile input at the mock: every request below gets OpenAI's 4xx body (naming the param where
there is one), ends in the journal with its status, and leaves no traceback - never a 500."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

BOUNDARY = "XyZ"


async def raw_request(url: str, head: list[bytes], body: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [*head, f"Host: {host}".encode(), b"Connection: close", f"Content-Length: {len(body)}".encode()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    raw = await reader.read()
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    head_bytes, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in head_bytes.split(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return int(status_line.split()[1]), headers, payload


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def multipart(parts: list[bytes], boundary: str = BOUNDARY, end: bool = True) -> bytes:
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    return body + (f"--{boundary}--\r\n".encode() if end else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def post(path: str, content_type: str, *extra: bytes) -> list[bytes]:
    return [
        f"POST {path} HTTP/1.1".encode(),
        f"Content-Type: {content_type}".encode(),
        b"Authorization: Bearer sk-hostile",
        *extra,
    ]


DEEP = b'{"model": "gpt-4o-mini", "messages": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
SURROGATE_CHAT = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi \\ud800"}]}'
SURROGATE_STREAM = SURROGATE_CHAT[:-1] + b', "stream": true}'
SURROGATE_RESPONSES = b'{"model": "gpt-4o-mini", "input": "hi \\udfff there", "metadata": {"k": "\\ud800"}}'
MP = f"multipart/form-data; boundary={BOUNDARY}"
PNG_PART = b'Content-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG'

CASES = {
    "10,000-deep JSON on chat": ("/v1/chat/completions", "application/json", DEEP, 400, None),
    "10,000-deep JSON on responses": ("/v1/responses", "application/json", DEEP, 400, None),
    "10,000-deep JSON on images": ("/v1/images/generations", "application/json", DEEP, 400, None),
    "a lone surrogate in a chat message": (
        "/v1/chat/completions",
        "application/json",
        SURROGATE_CHAT,
        400,
        None,
    ),
    "a lone surrogate, streamed": ("/v1/chat/completions", "application/json", SURROGATE_STREAM, 400, None),
    "a lone surrogate on responses": ("/v1/responses", "application/json", SURROGATE_RESPONSES, 400, None),
    "multipart with no boundary": (
        "/v1/images/edits",
        "multipart/form-data",
        multipart([field("prompt", b"x")]),
        400,
        None,
    ),
    "multipart with the wrong boundary": (
        "/v1/images/edits",
        "multipart/form-data; boundary=other",
        multipart([field("prompt", b"x")]),
        400,
        None,
    ),
    "an unterminated multipart body": (
        "/v1/images/edits",
        MP,
        multipart([field("prompt", b"x"), PNG_PART], end=False),
        400,
        None,
    ),
    "a control character in a part name": (
        "/v1/images/edits",
        MP,
        multipart([field("pro\x01mpt", b"x"), PNG_PART]),
        400,
        None,
    ),
    "a part header line without a colon": (
        "/v1/images/edits",
        MP,
        multipart([b"Content-Disposition form-data\r\n\r\nx", PNG_PART]),
        400,
        None,
    ),
    "a 5,000-digit n": (
        "/v1/images/edits",
        MP,
        multipart([field("prompt", b"x"), field("n", b"9" * 5000), PNG_PART]),
        400,
        "n",
    ),
    "an invalid-UTF-8 prompt": (
        "/v1/images/edits",
        MP,
        multipart([field("prompt", b"\xff\xfe bad"), PNG_PART]),
        400,
        "prompt",
    ),
}


@pytest.mark.parametrize(("path", "ctype", "body", "status", "param"), CASES.values(), ids=CASES.keys())
async def test_hostile_bodies_get_openais_error_body(mock_openai, caplog, path, ctype, body, status, param):
    caplog.set_level(logging.INFO)
    got, headers, payload = await raw_request(
        mock_openai.url, post(path, ctype, f"X-Mock-Session: {mock_openai.session}".encode()), body
    )
    assert got == status, payload[:300]
    assert headers["content-type"].startswith("application/json")
    error = json.loads(payload)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    [entry] = mock_openai.journal()
    assert entry["status"] == status
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_huge_retry_count_header_is_not_a_500(mock_openai):
    head = post("/v1/chat/completions", "application/json", f"X-Mock-Session: {mock_openai.session}".encode())
    head.append(b"x-stainless-retry-count: " + b"9" * 5000)
    got, _, payload = await raw_request(
        mock_openai.url, head, b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    )
    assert got == 200, payload[:300]
    [entry] = mock_openai.journal()
    assert entry["retry_count"] is None


async def test_a_body_over_the_limit_is_openais_413(mock_openai_server):
    limit = mock_openai_server.app._client_max_size
    head = post("/v1/chat/completions", "application/json", b"X-Mock-Session: too-big")
    got, headers, payload = await raw_request(mock_openai_server.url, head, b"{" + b" " * limit + b"}")
    assert got == 413 and headers["content-type"].startswith("application/json")
    error = json.loads(payload)["error"]
    assert error["type"] == "invalid_request_error" and "too large" in error["message"]


async def test_a_lone_surrogate_on_realtime_is_an_error_event_and_the_socket_stays(mock_openai):
    import aiohttp

    url = mock_openai.url + "/v1/realtime?model=gpt-realtime"
    headers = {"Authorization": "Bearer sk-hostile", "X-Mock-Session": mock_openai.session}
    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
        assert json.loads((await ws.receive(timeout=5)).data)["type"] == "session.created"
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi \\ud800"}]}
        await ws.send_str(
            json.dumps({"type": "conversation.item.create", "item": item}).replace("\\\\ud800", "\\ud800")
        )
        error = json.loads((await ws.receive(timeout=5)).data)
        assert error["type"] == "error" and error["error"]["code"] == "invalid_json"
        await ws.send_str(
            json.dumps(
                {"type": "session.update", "session": {"type": "realtime", "instructions": "still here"}}
            )
        )
        assert json.loads((await ws.receive(timeout=5)).data)["type"] == "session.updated"

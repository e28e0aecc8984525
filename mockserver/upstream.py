"""Talking to a real upstream as a relay does: which URL a client's request goes to, which of its
headers go along (the client's own key among them), which of the upstream's come back, and what a
request is (endpoint, model, stream) for a scenario's ``match``.

Shared by ``mockopenai record`` (:mod:`mockserver.record`) and ``mockopenai serve --upstream``
(:mod:`mockserver.upstream_proxy`).
"""

from __future__ import annotations

import base64
import errno
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import orjson
from aiohttp import web

from . import endpoints as E
from . import errors

# hop-by-hop headers (RFC 9110 7.6.1) and those the relay's HTTP client writes itself
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    )
)
# The relay reads events, so the upstream must not compress them: the request goes without the
# client's Accept-Encoding (OpenAI answers identity then), and the client gets the plain bytes.
NOT_FORWARDED = HOP_BY_HOP | {"accept-encoding"}
NOT_RETURNED = HOP_BY_HOP | {"content-encoding", "date", "server"}
SECRET_HEADERS = ("authorization", "api-key", "x-api-key")
SECRET_QUERY = ("api-key", "api_key", "key")
UPSTREAM_TIMEOUT_S = 600.0  # a whole exchange; a stream longer than this is cut (a real proxy's bound)


class UpstreamURL:
    """The upstream's base URL as a client uses it (``http://127.0.0.1:9000/v1``)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) base URL such as http://127.0.0.1:9000/v1, got {base!r}")
        self.base = base.rstrip("/")
        # what files, logs and the journal show: never a user:password@ the URL may carry
        host = parts.netloc.rpartition("@")[2]
        self.shown = f"{parts.scheme}://{host}{parts.path}".rstrip("/")

    def __str__(self) -> str:
        return self.shown

    def url_for(self, request: web.Request) -> str:
        """Where ``request`` goes: its path after ``/v1`` (or ``/s/<scenario>/v1``) on the base."""
        tail = api_path(request.path)
        query = request.query_string
        return self.base + tail + (f"?{query}" if query else "")


def api_path(path: str) -> str:
    """``/v1/chat/completions`` and ``/s/name/v1/chat/completions``: ``/chat/completions``."""
    match = re.match(r"^(?:/s/[^/]+)?/v1(/.*)?$", path)
    return (match.group(1) or "") if match else path


def forwarded_headers(request: web.Request, drop: frozenset[str] = frozenset()) -> dict[str, str]:
    """The client's headers as the upstream gets them (its key included)."""
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        low = name.lower()
        if low in NOT_FORWARDED or low in drop:
            continue
        out[name] = value if name not in out else out[name] + ", " + value
    return out


def returned_headers(headers: Any) -> dict[str, str]:
    """The upstream's response headers as the client gets them."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() not in NOT_RETURNED and name not in out:
            out[name] = value
    return out


def secrets_of(request: web.Request) -> list[str]:
    """The credentials a request carries (its bearer key, an ``api-key`` header...), so that no
    file or journal ever holds them."""
    found = []
    for name in SECRET_HEADERS:
        value = request.headers.get(name)
        if not value:
            continue
        scheme, _, rest = value.partition(" ")
        token = rest.strip() if scheme.lower() in ("bearer", "basic") and rest.strip() else value.strip()
        if len(token) >= 4:
            found.append(token)
    for name in SECRET_QUERY:  # Azure-style ?api-key=, and the key= of some gateways
        for value in request.query.getall(name, ()):
            if len(value) >= 4:
                found += [value, quote(value, safe="")]
    return found


def url_secrets(base: str) -> list[str]:
    """The credentials a base URL carries (``http://user:password@host/v1``), as written and as
    the Basic header built from them."""
    parts = urlsplit(base)
    if not parts.password and not parts.username:
        return []
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return [
        s
        for s in (parts.password, unquote(parts.password or ""), base64.b64encode(pair.encode()).decode())
        if s
    ]


def is_reset(exc: BaseException) -> bool:
    """Whether the upstream reset the connection (RST), rather than closing it (FIN)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError) or getattr(seen, "errno", None) == errno.ECONNRESET:
            return True
        if "reset by peer" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- what a request is, for a scenario's match ------------------------------------------------

_ENDPOINTS = (
    ("POST", r"/chat/completions", E.CHAT_COMPLETIONS),
    ("POST", r"/responses", E.RESPONSES),
    ("GET", r"/responses/[^/]+", E.RESPONSES_RETRIEVE),
    ("POST", r"/responses/[^/]+/cancel", E.RESPONSES_CANCEL),
    ("POST", r"/images/generations", E.IMAGES_GENERATIONS),
    ("POST", r"/images/edits", E.IMAGES_EDITS),
    ("POST", r"/embeddings", E.EMBEDDINGS),
    ("GET", r"/models(?:/[^/]+)?", E.MODELS),
)


@dataclass(slots=True)
class RequestFacts:
    endpoint: str | None  # one of the scenario schema's ENDPOINTS, or None (a path it has not)
    model: str | None
    stream: bool


def _form_field(body: bytes, name: str) -> str | None:
    """A small text field of a multipart/form-data body (``model``, ``stream``)."""
    match = re.search(rb'name="' + name.encode() + rb'"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]{0,200})\r\n', body)
    return match.group(1).decode("utf-8", errors="replace") if match else None


def request_facts(method: str, path: str, content_type: str, body: bytes) -> RequestFacts:
    tail = api_path(path)
    endpoint = next(
        (name for m, pattern, name in _ENDPOINTS if m == method and re.fullmatch(pattern, tail)), None
    )
    model: Any = None
    stream: Any = False
    if content_type.startswith("multipart/form-data"):
        model = _form_field(body, "model")
        stream = (_form_field(body, "stream") or "").lower() == "true"
    elif body:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            model, stream = data.get("model"), data.get("stream", False)
    return RequestFacts(endpoint, model if isinstance(model, str) and model else None, stream is True)


_QUERY = re.compile(r"(https?://[^\s'\"?]+)\?[^\s'\"]*")


def without_queries(text: str) -> str:
    """``text`` (an error message) with the query strings of its URLs cut: one may hold a key."""
    return _QUERY.sub(r"\1?…", text)


# --- what both relays share on the wire ----------------------------------------------------------

CLIENT_HEADERS_ONLY = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")  # none of aiohttp's own
# the upstream's answer stopped short: how a relay tells a cut (FIN or RST) from a failure to connect
CUT = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


def upstream_client() -> aiohttp.ClientSession:
    """The pooled session a relay reaches its upstream with: the client's headers only (aiohttp
    adds none of its own), no overall timeout (a stream may last), unbounded connections."""
    return aiohttp.ClientSession(
        auto_decompress=True,
        skip_auto_headers=CLIENT_HEADERS_ONLY,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        connector=aiohttp.TCPConnector(limit=0),
    )


def bad_gateway(
    exc: BaseException, upstream: str | None = None, secrets: Iterable[bytes] = ()
) -> tuple[str, web.Response]:
    """Why the upstream failed (no query string, no secret in it) and the 502 a relay answers."""
    reason = without_queries(str(exc) or type(exc).__name__)  # a query may hold an api-key
    for secret in secrets:
        reason = reason.replace(secret.decode(errors="replace"), "[REDACTED]")
    which = f"the upstream {upstream}" if upstream else "the upstream"
    body = errors.error_body(
        f"Bad gateway: {which} could not be reached ({reason}).", "server_error", None, "upstream_unreachable"
    )
    return reason, web.json_response(body, status=502)

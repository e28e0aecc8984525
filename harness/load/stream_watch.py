"""What one streamed request looked like to a load client: TTFT, gaps, total, how it ended.

Two stream shapes are watched:

* ``gateway``: the reference gateway's ``POST /api/v1/chat`` (``event: token`` / ``usage`` /
  ``error`` / ``done``; ``done`` carries ``finish_reason`` and ``provider_retry_count``);
* ``chat``: OpenAI chat completion chunks straight from the mock (``data: <chunk>`` ending in
  ``data: [DONE]``).

TTFT is measured to the first frame that carries content (a ``token`` event, or a chunk whose
delta has text or tool-call arguments), never to a comment, a heartbeat or the role-only first
chunk. A stream fails when it carries an in-band error, or when it ends without its terminator.
Times are passed in (milliseconds since the request was sent), so the watch does no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from servekit.sse import Frame

GATEWAY = "gateway"
CHAT = "chat"
PROTOCOLS = (GATEWAY, CHAT)

# Why a stream failed (the Locust failure message starts with one of these).
HTTP_ERROR = "http_error"
IN_BAND_ERROR = "in_band_error"
NO_TERMINATOR = "no_terminator"
MALFORMED = "malformed"
CONNECTION = "connection_error"


@dataclass(slots=True)
class StreamOutcome:
    ok: bool
    failure: str | None = None  # one of the reasons above, then detail: "in_band_error: RATE_LIMIT"
    status: int = 0
    ttft_ms: float | None = None
    gaps_ms: list[float] = field(default_factory=list)  # between consecutive content frames
    total_ms: float = 0.0
    tokens: int = 0
    retries: int = 0  # provider_retry_count from the gateway's done event
    finish_reason: str | None = None


def failed(reason: str, detail: str = "", status: int = 0, total_ms: float = 0.0) -> StreamOutcome:
    return StreamOutcome(
        ok=False, failure=f"{reason}: {detail}" if detail else reason, status=status, total_ms=total_ms
    )


class StreamWatch:
    """Feed it each frame with its arrival time; :meth:`finish` says how the stream went."""

    def __init__(self, protocol: str) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown stream protocol {protocol!r}; expected one of {PROTOCOLS}")
        self.protocol = protocol
        self.ttft_ms: float | None = None
        self.last_content_ms: float | None = None
        self.gaps_ms: list[float] = []
        self.tokens = 0
        self.error: str | None = None
        self.terminated = False
        self.retries = 0
        self.finish_reason: str | None = None

    def feed(self, frame: Frame, t_ms: float) -> None:
        if frame.is_comment or self.terminated:
            return
        content = self._gateway(frame) if self.protocol == GATEWAY else self._chat(frame)
        if content:
            self.tokens += 1
            if self.ttft_ms is None:
                self.ttft_ms = t_ms
            else:
                self.gaps_ms.append(t_ms - (self.last_content_ms or t_ms))
            self.last_content_ms = t_ms

    def connection_lost(self, detail: str) -> None:
        """The connection ended with an error while reading: a failure unless the stream had ended."""
        if not self.terminated:
            self._fail(f"{NO_TERMINATOR}: {detail}")

    def finish(self, t_ms: float, status: int = 200) -> StreamOutcome:
        out = StreamOutcome(
            ok=False,
            status=status,
            ttft_ms=self.ttft_ms,
            gaps_ms=self.gaps_ms,
            total_ms=t_ms,
            tokens=self.tokens,
            retries=self.retries,
            finish_reason=self.finish_reason,
        )
        if self.error is not None:
            out.failure = self.error
        elif not self.terminated:
            out.failure = NO_TERMINATOR
        elif self.protocol == GATEWAY and self.finish_reason == "error":
            out.failure = f"{IN_BAND_ERROR}: done with finish_reason=error"
        else:
            out.ok = True
        return out

    # --- the two shapes ---------------------------------------------------------------------

    def _gateway(self, frame: Frame) -> bool:
        payload = _json(frame.data)
        if frame.event == "token":
            return True
        if frame.event == "error":
            code = payload.get("code") if isinstance(payload, dict) else None
            self._fail(f"{IN_BAND_ERROR}: {code or frame.data[:80]}")
        elif frame.event == "done":
            self.terminated = True
            if isinstance(payload, dict):
                self.finish_reason = payload.get("finish_reason")
                self.retries = _int(payload.get("provider_retry_count"))
        return False

    def _chat(self, frame: Frame) -> bool:
        if frame.data == "[DONE]":
            self.terminated = True
            return False
        payload = _json(frame.data)
        if not isinstance(payload, dict):
            self._fail(f"{MALFORMED}: {frame.data[:80]}")
            return False
        if "error" in payload:
            err = payload["error"] if isinstance(payload["error"], dict) else {}
            self._fail(f"{IN_BAND_ERROR}: {err.get('code') or err.get('type') or err.get('message')}")
            return False
        for choice in payload.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content") or any(
                (c.get("function") or {}).get("arguments") for c in delta.get("tool_calls") or ()
            ):
                return True
        return False

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

"""What went wrong upstream, in the user's words: seed 004's codes and friendly sentences.

``classify(exc)`` turns anything the upstream call raised into a :class:`Failure`: the code and
message sent in-band (``event: error``), and whether the retry policy may try again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import openai

RATE_LIMIT = "RATE_LIMIT"
SERVER_ERROR = "SERVER_ERROR"
OPENAI_TIMEOUT = "OPENAI_TIMEOUT"
UPSTREAM_DISCONNECTED = "UPSTREAM_DISCONNECTED"
UPSTREAM_REJECTED = "UPSTREAM_REJECTED"
UPSTREAM_AUTH = "UPSTREAM_AUTH"
INTERNAL_ERROR = "INTERNAL_ERROR"

MESSAGES = {
    RATE_LIMIT: "Overloaded, please try again soon.",
    SERVER_ERROR: "Server error, please try again later.",
    OPENAI_TIMEOUT: "Request timed out. Please try again with a shorter message.",
    UPSTREAM_DISCONNECTED: "Connection to the AI service was lost, please try again.",
    UPSTREAM_REJECTED: "The AI service could not process this message, please rephrase it.",
    UPSTREAM_AUTH: "The AI service is misconfigured, please contact support.",
    INTERNAL_ERROR: "Something went wrong, please try again later.",
}

RETRYABLE_STATUSES = frozenset({408, 409, 429})


class IncompleteStream(Exception):
    """The upstream stream ended cleanly but without a finish_reason."""


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    retryable: bool = False
    status: int | None = None  # the upstream HTTP status, when there was one
    headers: dict[str, str] = field(default_factory=dict)  # the upstream response headers
    detail: str = ""  # for logs, never for the user

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    def event(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def code_for_status(status: int) -> str:
    if status == 429:
        return RATE_LIMIT
    if status in (408, 504):
        return OPENAI_TIMEOUT
    if status >= 500:
        return SERVER_ERROR
    if status in (401, 403):
        return UPSTREAM_AUTH
    if status == 409:
        return SERVER_ERROR
    return UPSTREAM_REJECTED


def classify(exc: BaseException) -> Failure:
    """The failure an exception from the upstream call stands for (timeouts before disconnects)."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        return Failure(
            code_for_status(status),
            retryable=status in RETRYABLE_STATUSES or status >= 500,
            status=status,
            headers=dict(exc.response.headers),
            detail=str(exc),
        )
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return Failure(OPENAI_TIMEOUT, retryable=True, detail=repr(exc))
    if isinstance(exc, openai.APIConnectionError | IncompleteStream):
        return Failure(UPSTREAM_DISCONNECTED, retryable=True, detail=repr(exc.__cause__ or exc))
    if isinstance(exc, openai.APIError):  # an in-band error event after HTTP 200
        body = exc.body if isinstance(exc.body, dict) else {}
        code = RATE_LIMIT if body.get("code") == "rate_limit_exceeded" else SERVER_ERROR
        return Failure(code, retryable=True, detail=str(exc))
    return Failure(INTERNAL_ERROR, retryable=False, detail=repr(exc))

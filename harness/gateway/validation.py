"""Validation of a chat request, before any stream is opened: every failure names its field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

SESSION_ID_RE = re.compile(r"^session-\d{8}-\d{6}-[a-z0-9]{4}$")
FIELDS = ("message", "sessionId", "useMemory")


class ValidationError(Exception):
    """A bad request body: answered with 400 naming ``param``."""

    def __init__(self, param: str | None, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class ChatRequest:
    message: str
    session_id: str | None = None
    use_memory: bool = False


def parse_chat_body(raw: bytes, max_chars: int = 4000) -> ChatRequest:
    # orjson refuses what would break later: invalid UTF-8, a lone surrogate (which no upstream
    # request could encode), and nesting deeper than 1024 (json.loads: a RecursionError, a 500)
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise ValidationError(None, f"The request body is not valid JSON: {exc}.", "invalid_json") from None
    if not isinstance(body, dict):
        raise ValidationError(
            None, 'The request body must be a JSON object like {"message": "Hello"}.', "invalid_json"
        )
    return validate_chat(body, max_chars)


def validate_chat(body: dict[str, Any], max_chars: int = 4000) -> ChatRequest:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ValidationError(
            unknown[0], f"Unknown field '{unknown[0]}'. Allowed fields: {', '.join(FIELDS)}.", "unknown_field"
        )
    if "message" not in body:
        raise ValidationError("message", "'message' is required.", "missing_field")
    message = body["message"]
    if not isinstance(message, str):
        raise ValidationError(
            "message", f"'message' must be a string, got {_type_name(message)}.", "invalid_type"
        )
    if not message.strip():
        raise ValidationError("message", "'message' must not be empty.", "too_short")
    if len(message) > max_chars:
        raise ValidationError(
            "message", f"'message' must be at most {max_chars} characters, got {len(message)}.", "too_long"
        )
    session_id = body.get("sessionId")
    if session_id is not None:
        if not isinstance(session_id, str):
            raise ValidationError(
                "sessionId", f"'sessionId' must be a string, got {_type_name(session_id)}.", "invalid_type"
            )
        if not SESSION_ID_RE.fullmatch(session_id):  # match() lets "...\n" through
            raise ValidationError(
                "sessionId",
                "'sessionId' must look like "
                "session-YYYYMMDD-HHMMSS-xxxx (e.g. session-20250819-143022-a1b2), "
                f"got {session_id!r}.",
                "invalid_format",
            )
    use_memory = body.get("useMemory", False)
    if not isinstance(use_memory, bool):
        raise ValidationError(
            "useMemory", f"'useMemory' must be a boolean, got {_type_name(use_memory)}.", "invalid_type"
        )
    return ChatRequest(message=message, session_id=session_id, use_memory=use_memory)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)

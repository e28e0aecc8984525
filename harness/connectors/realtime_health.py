"""Health check of a realtime endpoint: connect, see ``session.created``, close. Never retries."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import openai
from websockets.exceptions import InvalidStatus

from .health import CONNECT_FAILED, FAIL, INVALID_KEY, NOT_FOUND, PASS
from .realtime_client import describe

NO_SESSION = "Realtime endpoint accepted the connection but did not create a session."


@dataclass(frozen=True, slots=True)
class RealtimeHealth:
    model: str
    verdict: str  # PASS | FAIL
    message: str
    detail: str = ""
    session_id: str | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    def format(self) -> str:
        tail = f" ({self.detail})" if self.detail else ""
        return f"realtime {self.model}: {self.verdict} {self.message}{tail} in {self.elapsed_ms:.0f} ms"


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return {401: INVALID_KEY, 403: INVALID_KEY, 404: NOT_FOUND}.get(status, CONNECT_FAILED)
    if isinstance(exc, (OSError, TimeoutError)) and not isinstance(exc, ConnectionResetError):
        return CONNECT_FAILED
    return NO_SESSION


async def check_realtime(
    client: openai.AsyncOpenAI, model: str, *, timeout_s: float = 10.0
) -> RealtimeHealth:
    """PASS when a connection opens and its first event is ``session.created`` within ``timeout_s``."""
    t0 = time.perf_counter()

    def verdict(v: str, message: str, detail: str = "", session_id: str | None = None) -> RealtimeHealth:
        return RealtimeHealth(
            model, v, message, detail, session_id, round((time.perf_counter() - t0) * 1000, 1)
        )

    try:
        async with asyncio.timeout(timeout_s):
            async with client.realtime.connect(model=model) as connection:
                event = await connection.recv()
    except TimeoutError:
        return verdict(FAIL, NO_SESSION, f"nothing within {timeout_s * 1000:.0f} ms")
    except Exception as exc:  # the failure is the verdict
        return verdict(FAIL, _failure_message(exc), describe(exc))
    if event.type != "session.created":
        detail = f"first event was {event.type}"
        if event.type == "error":
            detail += f": {event.error.message}"
        return verdict(FAIL, NO_SESSION, detail)
    return verdict(PASS, "Realtime session created", session_id=getattr(event.session, "id", None))

"""Telemetry: the rows a chat turn leaves in ``telemetry_events``, and seed 004's two reports.

``openai_call``: one per chat request (provider_retry_count, ttft_ms, total_ms, tokens, outcome).
``error``: one per failure reported to the client, with its code.
The reports are plain SQL over the table, the SQLite version of the seed's queries.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..text_table import text_table
from .pricing import cost_usd
from .relay import CallResult

OPENAI_CALL = "openai_call"
ERROR = "error"

RETRIES_PER_HOUR = """
SELECT strftime('%Y-%m-%d %H:00', created_at) AS hour,
       ROUND(AVG(json_extract(payload_json, '$.provider_retry_count')), 3) AS avg_retries,
       MAX(json_extract(payload_json, '$.provider_retry_count')) AS max_retries,
       SUM(json_extract(payload_json, '$.provider_retry_count') > 0) AS requests_with_retries,
       COUNT(*) AS total_requests
FROM telemetry_events
WHERE type = 'openai_call' AND created_at > datetime('now', :since)
GROUP BY hour
ORDER BY hour DESC
"""

ERRORS_PER_HOUR = """
SELECT strftime('%Y-%m-%d %H:00', created_at) AS hour,
       SUM(json_extract(payload_json, '$.code') = 'OPENAI_TIMEOUT') AS timeout_errors,
       SUM(json_extract(payload_json, '$.code') = 'RATE_LIMIT') AS rate_limit_errors,
       COUNT(*) AS total_errors
FROM telemetry_events
WHERE type = 'error' AND created_at > datetime('now', :since)
GROUP BY hour
ORDER BY hour DESC
"""


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_report(conn: sqlite3.Connection, title: str, sql: str, hours: int = 24) -> Report:
    cur = conn.execute(sql, {"since": f"-{int(hours)} hours"})
    return Report(title, [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()])


def reports(conn: sqlite3.Connection, hours: int = 24) -> list[Report]:
    return [
        run_report(conn, "Retries per hour (openai_call)", RETRIES_PER_HOUR, hours),
        run_report(conn, "Timeout and rate-limit errors per hour (error)", ERRORS_PER_HOUR, hours),
    ]


def format_report(report: Report) -> str:
    cells = [[_cell(v) for v in row] for row in report.rows]
    out = [report.title, *text_table([report.columns, *cells])]
    if not cells:
        out.append("(no rows)")
    return "\n".join(out)


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# --- the rows one chat turn leaves --------------------------------------------------------------


def call_payload(
    result: CallResult,
    *,
    request_id: str,
    model: str,
    user: str,
    session_id: str | None,
    outcome: str,
    memory_turns: int = 0,
    memory_ms: float | None = None,
) -> dict[str, Any]:
    tokens_out = result.tokens_out if result.tokens_out is not None else result.deltas
    return {
        "request_id": request_id,
        "user": user,
        "session_id": session_id,
        "model": model,
        "provider_retry_count": result.provider_retry_count,
        "ttft_ms": _ms(result.ttft_ms),
        "total_ms": _ms(result.total_ms),
        "tokens_in": result.tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost_usd(model, result.tokens_in or 0, tokens_out),
        "finish_reason": result.finish_reason,
        "outcome": outcome,
        "retried_errors": list(result.attempt_errors),
        "memory_turns": memory_turns,
        "memory_ms": _ms(memory_ms),
    }


def error_payload(result: CallResult, *, request_id: str, model: str) -> dict[str, Any] | None:
    if result.failure is None:
        return None
    return {
        "request_id": request_id,
        "model": model,
        "code": result.failure.code,
        "message": result.failure.message,
        "status": result.failure.status,
        "provider_retry_count": result.provider_retry_count,
        "after_first_token": result.deltas > 0,
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

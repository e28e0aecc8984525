"""Telemetry in SQLite and seed 004's two reports, from SQL, through ``harness telemetry``."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from harness.cli import main
from harness.gateway.store import GatewayStore, timestamp
from harness.gateway.telemetry import ERRORS_PER_HOUR, RETRIES_PER_HOUR, run_report

NOW = datetime.now(UTC) - timedelta(minutes=1)
HOUR = timedelta(hours=1)
EARLIER = NOW - HOUR - timedelta(minutes=5)  # the hour before, outside a one-hour window


def seeded_db(path: str) -> None:
    store = GatewayStore(path)
    try:
        for retries in (0, 0, 1, 2):  # this hour
            store.add_event("openai_call", {"provider_retry_count": retries}, timestamp(NOW))
        for retries in (0, 1):  # an hour ago
            store.add_event("openai_call", {"provider_retry_count": retries}, timestamp(EARLIER))
        store.add_event("openai_call", {"provider_retry_count": 5}, timestamp(NOW - 30 * HOUR))  # too old
        for code in ("OPENAI_TIMEOUT", "RATE_LIMIT", "RATE_LIMIT", "SERVER_ERROR"):
            store.add_event("error", {"code": code}, timestamp(NOW))
        store.add_event("error", {"code": "OPENAI_TIMEOUT"}, timestamp(EARLIER)).result()
    finally:
        store.close()


def test_schema_is_the_seeds(tmp_path):
    path = str(tmp_path / "t.db")
    GatewayStore(path).close()
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(telemetry_events)")]
    conn.close()
    assert columns == ["id", "type", "created_at", "payload_json"]


def test_retries_per_hour(tmp_path):
    path = str(tmp_path / "t.db")
    seeded_db(path)
    conn = sqlite3.connect(path)
    report = run_report(conn, "retries", RETRIES_PER_HOUR, hours=24)
    conn.close()
    assert report.columns == ["hour", "avg_retries", "max_retries", "requests_with_retries", "total_requests"]
    assert report.rows == [
        (NOW.strftime("%Y-%m-%d %H:00"), 0.75, 2, 2, 4),
        (EARLIER.strftime("%Y-%m-%d %H:00"), 0.5, 1, 1, 2),
    ]


def test_errors_per_hour(tmp_path):
    path = str(tmp_path / "t.db")
    seeded_db(path)
    conn = sqlite3.connect(path)
    report = run_report(conn, "errors", ERRORS_PER_HOUR, hours=24)
    short = run_report(conn, "errors", ERRORS_PER_HOUR, hours=1)
    conn.close()
    assert report.columns == ["hour", "timeout_errors", "rate_limit_errors", "total_errors"]
    assert report.rows == [
        (NOW.strftime("%Y-%m-%d %H:00"), 1, 2, 4),
        (EARLIER.strftime("%Y-%m-%d %H:00"), 1, 0, 1),
    ]
    assert len(short.rows) == 1


def test_harness_telemetry_prints_both_reports(tmp_path, capsys):
    path = str(tmp_path / "t.db")
    seeded_db(path)
    assert main(["telemetry", "--db", path]) == 0
    out = capsys.readouterr().out
    assert "Retries per hour" in out and "Timeout and rate-limit errors per hour" in out
    lines = out.splitlines()
    this_hour = NOW.strftime("%Y-%m-%d %H:00")
    assert any(line.split() == [*this_hour.split(), "0.75", "2", "2", "4"] for line in lines)
    assert any(line.split() == [*this_hour.split(), "1", "2", "4"] for line in lines)


def test_harness_telemetry_without_a_database(tmp_path, capsys):
    assert main(["telemetry", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no telemetry database" in capsys.readouterr().out

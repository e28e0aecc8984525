"""The held-streams benchmark: 500 silent gateway streams, none dropped, heartbeats on time.

The figures are computed from what each client saw (the connected comment, every ``: heartbeat``,
the first token, how the stream ended); these tests pin that arithmetic on hand-made streams, then
run the benchmark for real with tiny numbers.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from harness.bench.__main__ import ensure_open_files
from harness.bench.held_streams import HeartbeatTap, HeldStream, held_figures, peak_open
from harness.bench.report import render_markdown, summary_lines, verdicts
from harness.load.stream_watch import NO_TERMINATOR, StreamOutcome, failed
from servekit.sse import SSEReader

ROOT = Path(__file__).resolve().parents[1]


def stream(started_s: float, connected: float | None, beats: list[float], ttft: float | None, total: float):
    tap = HeartbeatTap(connected_ms=connected, heartbeats_ms=beats, stamps_ms=[int(1000 + b) for b in beats])
    outcome = StreamOutcome(ok=True, status=200, ttft_ms=ttft, total_ms=total, tokens=5)
    return HeldStream(started_s, tap, outcome)


def test_the_tap_sees_the_connected_comment_and_each_stamped_heartbeat_but_no_events():
    tap = HeartbeatTap()
    wire = (
        b": Connected to chat stream\n\n"
        b": heartbeat 1763712000500\n\n"
        b": keep-alive\n\n"
        b'event: token\ndata: {"text": "Hi"}\n\n'
        b": heartbeat 1763712001003\n\n"
    )
    for t, frame in enumerate(SSEReader().feed(wire)):
        tap(frame, float(t * 100))
    assert tap.connected_ms == 0.0
    assert tap.heartbeats_ms == [100.0, 400.0]
    assert tap.stamps_ms == [1763712000500, 1763712001003]


def test_gaps_count_from_the_connected_comment_and_silence_ends_at_the_first_token():
    s = stream(0.0, 10.0, [510.0, 1010.0, 1700.0], ttft=1900.0, total=2100.0)
    assert s.heartbeat_gaps_ms() == [500.0, 500.0, 690.0]
    assert s.stamp_gaps_ms() == [500.0, 690.0]
    assert s.heartbeats_before_first_token() == 3
    assert s.silence_before_first_token_ms() == 690.0


def test_peak_counts_streams_open_at_the_same_instant():
    a = stream(0.0, 0.0, [], ttft=50.0, total=100.0)  # open 0.000 .. 0.100 s
    b = stream(0.05, 0.0, [], ttft=50.0, total=100.0)  # open 0.050 .. 0.150 s
    c = stream(0.1, 0.0, [], ttft=50.0, total=100.0)  # opens as a ends: not at the same instant
    assert peak_open([a, b, c]) == 2


def test_figures_name_the_dropped_the_never_opened_and_the_late():
    on_time = stream(0.0, 5.0, [505.0, 1005.0, 1505.0], ttft=1600.0, total=1800.0)
    late = stream(0.0, 5.0, [505.0, 1300.0], ttft=1600.0, total=1800.0)  # a 795 ms gap
    dropped = stream(0.0, 5.0, [505.0], ttft=None, total=900.0)
    dropped.outcome = StreamOutcome(ok=False, failure=NO_TERMINATOR, status=200, total_ms=900.0)
    refused = HeldStream(0.0, HeartbeatTap(), failed("http_error", "HTTP 503", 503, 3.0))
    h = held_figures([on_time, late, dropped, refused], interval_ms=500, ttft_ms=1500)
    assert (h["requested"], h["opened"], h["completed"], h["dropped"], h["not_opened"]) == (4, 3, 2, 1, 1)
    assert h["failure_reasons"] == {"no_terminator": 1, "http_error": 1}
    assert h["peak_open"] == 3
    assert h["on_time_limit_ms"] == 600.0
    assert h["gap_max"] == 795.0 and h["late_streams"] == 1
    assert (h["first_gap_p50"], h["first_gap_max"]) == (500.0, 500.0)
    assert h["heartbeats_before_token_expected"] == 2  # due at 500 and 1000 ms, before 1500 ms
    assert h["heartbeats_before_token_min"] == 1  # the dropped stream never got its token


def test_verdicts_hold_500_streams_none_dropped_and_heartbeats_on_time():
    streams = [stream(0.0, 5.0, [505.0, 1005.0], ttft=1200.0, total=1300.0) for _ in range(500)]
    held = {**held_figures(streams, 500, 1200), "scenario": "bench-held-streams", "open_file_limit": 4096}
    held |= {"client_lag_p99": 1.0, "client_lag_max": 2.0}
    assert held["peak_open"] == 500 and held["late_streams"] == 0
    v = verdicts({"held": held})
    assert (v["held_count"], v["held_none_dropped"], v["held_heartbeats"]) == (True, True, True)

    one_late = held | {"late_streams": 1, "peak_open": 499, "completed": 499}
    v = verdicts({"held": one_late})
    assert (v["held_count"], v["held_none_dropped"], v["held_heartbeats"]) == (False, False, False)

    text = render_markdown({"held": held}, {"cpus": 2}, 9.0)
    assert "| concurrent SSE streams held by the gateway" in text and "| met / met / met |" in text
    assert "## Held streams" in text and "| open at the same instant (peak) | 500 |" in text
    assert "Open-file limit (soft) for the bench and the servers it starts: 4096." in text
    (line,) = summary_lines({"held": held})
    assert line.startswith(
        "held streams through the gateway: 500 open at once of 500 sent, 500 ended with done"
    )


def test_a_quick_held_run_opens_every_stream_through_a_real_gateway(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.bench", "--quick", "--only", "held", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = [p for p in proc.stdout.splitlines() if p.startswith("held streams")]
    assert line.startswith("held streams through the gateway: 20 open at once of 20 sent, 20 ended with done")
    text = out.read_text()
    assert "n/a" not in text  # every figure was measured
    assert "| opened (200 and the connected comment) | 20 |" in text
    assert "| dropped after opening | 0 |" in text and "| never opened | 0 |" in text
    assert (
        "| streams with no heartbeat before their first token | 0 |" in text
    )  # 100 ms beats, 400 ms silence
    assert "`OPENAI_SSE_HEARTBEAT_MS=100`" in text
    assert "## Gateway overhead" not in text  # --only held starts nothing else


def test_the_open_file_limit_is_only_ever_raised():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert ensure_open_files(16) == soft  # already enough: left as it is, never lowered
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)

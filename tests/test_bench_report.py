"""`python -m harness.bench` measures the three ratios and the held streams in one run and writes them
with the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.bench.report import machine_info, render_markdown, summary_lines, verdicts

ROOT = Path(__file__).resolve().parents[1]

RESULTS = {
    "overhead": {
        "concurrency": 100,
        "scenario": "bench-steady-150",
        "direct": {
            "streams": 400,
            "failures": 0,
            "ttft_p50": 151.2,
            "ttft_p99": 158.0,
            "total_p50": 2060.0,
            "total_p99": 2080.0,
        },
        "gateway": {
            "streams": 400,
            "failures": 0,
            "ttft_p50": 152.9,
            "ttft_p99": 171.5,
            "total_p50": 2063.0,
            "total_p99": 2095.0,
        },
        "overhead_ttft_p50": 1.7,
        "overhead_ttft_p99": 13.5,
        "overhead_total_p50": 3.0,
        "overhead_total_p99": 15.0,
    },
    "throughput": {
        "concurrency": 32,
        "seconds_per_round": 2.0,
        "rounds": 2,
        "mock_streams_per_s": 450.0,
        "mock_chunks_per_s": 10350.0,
        "mock_incomplete": 0,
        "bare_streams_per_s": 500.0,
        "bare_chunks_per_s": 11500.0,
        "bare_incomplete": 0,
        "ratio_streams": 0.9,
        "ratio_chunks": 0.9,
    },
    "fidelity": {
        "concurrency": 200,
        "scenario": "bench-steady-150",
        "scenario_ttft_ms": 150.0,
        "streams": 800,
        "failures": 0,
        "error_p50": 0.8,
        "error_p99": 2.6,
        "abs_error_p99": 2.6,
        "measured_p50": 150.8,
        "server_error_p50": 0.4,
        "server_error_p99": 1.3,
        "server_abs_error_p99": 1.3,
    },
}


def test_verdicts_follow_the_design_targets():
    assert verdicts(RESULTS) == {
        "overhead_p50": True,  # 1.7 ms < 2 ms
        "overhead_p99": False,  # 13.5 ms is not < 10 ms
        "throughput": True,  # 0.9 >= 0.8
        "fidelity_p99": False,  # 2.6 ms is not < 2 ms
        "fidelity_server_p99": True,  # 1.3 ms < 2 ms, as the mock's journal saw it
        **dict.fromkeys(("held_count", "held_none_dropped", "held_heartbeats")),  # not in RESULTS
    }
    assert verdicts({}) == dict.fromkeys(
        (
            "overhead_p50",
            "overhead_p99",
            "throughput",
            "fidelity_p99",
            "fidelity_server_p99",
            "held_count",
            "held_none_dropped",
            "held_heartbeats",
        )
    )


def test_report_names_the_machine_but_no_paths():
    machine = machine_info()
    assert machine["cpus"] == os.cpu_count()
    text = render_markdown(RESULTS, machine, 42.0)
    assert f"cpus {os.cpu_count()}" in text and sys.version.split()[0] in text
    assert str(ROOT) not in text and str(Path.home()) not in text
    assert "| mock | 450.0 | 10350.0 |" in text
    assert "| gateway - direct | | | 1.70 ms | 13.50 ms |" in text
    lines = summary_lines(RESULTS)
    assert len(lines) == 3
    assert "p50 1.70 ms, p99 13.50 ms" in lines[0] and "met / missed" in lines[0]
    assert "0.9 x streams/s" in lines[1]
    assert "p99 2.60 ms" in lines[2] and "missed" in lines[2]


def test_a_quick_bench_run_measures_all_four(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    assert printed[0].startswith("gateway overhead on TTFT at 5 streams: p50 ")
    assert printed[1].startswith("mock throughput vs bare aiohttp SSE: ")
    assert printed[2].startswith("timing fidelity at 10 streams: TTFT error p50 ")
    assert printed[3].startswith("held streams through the gateway: 20 open at once of 20 sent")
    text = out.read_text()
    assert "n/a" not in text  # every figure was measured
    assert "| direct | 5 | 0 |" in text and "| gateway | 5 | 0 |" in text  # no failed streams on either side
    assert "Machine: cpus" in text
    assert "## Held streams" in text

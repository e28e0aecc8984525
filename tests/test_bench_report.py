"""`python -m harness.bench` measures the three ratios and the held streams in one run and writes them
with the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bench.report import derived, machine_info, render_markdown, summary_lines, verdicts

ROOT = Path(__file__).resolve().parents[1]


def path(ttft_p50, ttft_p99, cpu, over_p50=None, over_p99=None, streams=400, per_worker=2):
    return {
        "streams": streams,
        "failures": 0,
        "per_worker": per_worker,
        "ttft_p50": ttft_p50,
        "ttft_p99": ttft_p99,
        "total_p50": 2060.0,
        "total_p99": 2080.0,
        "overhead_ttft_p50": over_p50,
        "overhead_ttft_p99": over_p99,
        "overhead_total_p50": None,
        "overhead_total_p99": None,
        "cpu_ms_per_stream": cpu,
        "pct_of_core": 20.0,
        "mock_cpu_ms_per_stream": 2.3,
        "mock_pct_of_core": 11.0,
        "client_cpu_ms_per_stream": 4.5,
        "client_pct_of_core": 21.0,
        "streams_per_s": 46.0,
        "machine_busy_pct": 150.0,
    }


def server(streams_per_s, cpu):
    return {
        "streams_per_s": streams_per_s,
        "chunks_per_s": streams_per_s * 23,
        "incomplete": 0,
        "cpu_ms_per_stream": cpu,
        "pct_of_core": 90.0,
        "mock_cpu_ms_per_stream": None,
        "mock_pct_of_core": None,
        "client_cpu_ms_per_stream": 0.6,
        "client_pct_of_core": 70.0,
        "machine_busy_pct": 120.0,
    }


RESULTS = {
    "overhead": {
        "concurrency": 100,
        "scenario": "bench-steady-150",
        "rounds": 2,
        "paths": {
            "direct": path(151.2, 158.0, 2.3),
            "gateway": path(152.9, 171.5, 6.0, 1.7, 13.5),
            "relay": path(152.0, 160.0, 5.0, 0.8, 2.0),
            "litellm": path(1259.0, 3673.5, 84.0, 1107.8, 3515.5, streams=200, per_worker=1),
        },
    },
    "throughput": {
        "concurrency": 32,
        "seconds_per_round": 2.0,
        "rounds": 2,
        "servers": {
            "mock": server(450.0, 0.9),
            "bare": server(500.0, 0.5),
            "aimock": server(990.0, 0.3),
            "mock-workers-2": server(700.0, 1.0),
        },
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
    "skipped": {},
}

NOT_MEASURED = (
    "overhead_p50",
    "overhead_p99",
    "gateway_cpu",
    "litellm_cpu",
    "litellm_p99",
    "throughput",
    "mock_cpu",
    "workers",
    "fidelity_p99",
    "fidelity_server_p99",
    "held_count",
    "held_none_dropped",
    "held_heartbeats",
)


def test_verdicts_follow_the_design_targets():
    assert verdicts(RESULTS) == {
        "overhead_p50": True,  # 1.7 ms < 2 ms
        "overhead_p99": False,  # 13.5 ms is not < 10 ms
        "gateway_cpu": True,  # 6.0 / 5.0 = 1.2 x <= 1.5 x the bare relay
        "litellm_cpu": True,  # 84 / 6 = 14 x >= 5 x
        "litellm_p99": True,  # 3515.5 / 13.5 = 260 x >= 5 x
        "throughput": True,  # 0.9 >= 0.8
        "mock_cpu": False,  # 0.9 ms is not <= 0.5 ms
        "workers": True,  # 700 / 450 = 1.56 x >= 1.5 x
        "fidelity_p99": False,  # 2.6 ms is not < 2 ms
        "fidelity_server_p99": True,  # 1.3 ms < 2 ms, as the mock's journal saw it
        **dict.fromkeys(("held_count", "held_none_dropped", "held_heartbeats")),  # not in RESULTS
    }
    assert verdicts({}) == dict.fromkeys(NOT_MEASURED)


def test_ratios_are_taken_in_the_same_run():
    d = derived(RESULTS)
    assert d["gateway_cpu_vs_relay"] == 1.2
    assert d["litellm_cpu_vs_gateway"] == 14.0
    assert d["litellm_p99_vs_gateway"] == 260.41
    assert d["workers_streams_ratio"] == 1.56
    assert d["aimock_streams_vs_mock"] == 2.2 and d["aimock_cpu_vs_mock"] == 0.33


def test_a_gateway_overhead_at_or_below_zero_still_gives_a_litellm_verdict():
    results = json.loads(json.dumps(RESULTS))
    results["overhead"]["paths"]["gateway"]["overhead_ttft_p99"] = -0.4
    assert derived(results)["litellm_p99_vs_gateway"] > 5 and verdicts(results)["litellm_p99"] is True


def test_report_names_the_machine_but_no_paths():
    machine = machine_info()
    assert machine["cpus"] == os.cpu_count()
    text = render_markdown(RESULTS, machine, 42.0)
    assert f"cpus {os.cpu_count()}" in text and sys.version.split()[0] in text
    assert "load average (1 min) at the end" in text
    assert str(ROOT) not in text and str(Path.home()) not in text
    assert (
        "| gateway CPU per stream / bare aiohttp relay, same run | 6.00 ms / 5.00 ms = 1.20 x | <= 1.5 x | met |"
        in text
    )
    assert (
        "| LiteLLM proxy (1 worker) / gateway: CPU per stream, TTFT p99 overhead | 14.00 x (84.00 ms / 6.00 ms), "
        "260.41 x (3515.50 ms / 13.50 ms) |" in text
    )
    assert "| mock CPU per zero-delay chat stream | 0.90 ms | <= 0.5 ms | missed |" in text
    assert "| mock streams/s, `--workers 2` / `--workers 1` | 1.56 x | >= 1.5 x | met |" in text
    assert "| reference gateway | 400 | 0 | 152.90 ms | 171.50 ms | 1.70 ms | 13.50 ms |" in text
    assert "| 4.50 ms | 46.0 | 150 % |" in text and "| 0.60 ms | 70 % | 120 % |" in text
    assert "| bare aiohttp relay | 400 |" in text and "| LiteLLM proxy (1 worker) | 200 |" in text
    assert (
        "| mock (`mockopenai serve`, 1 worker) | 450.0 | 10350.0 | 0.90 ms | 90 % | 0.60 ms | 70 % |" in text
    )
    assert "| aimock (Node, `llmock` CLI) | 990.0 |" in text
    assert "Skipped in this run" not in text and "smoke run" not in text
    lines = summary_lines(RESULTS)
    assert len(lines) == 7
    assert "p50 1.70 ms, p99 13.50 ms" in lines[0] and "met / missed" in lines[0]
    assert "bare relay p50 0.80 ms, p99 2.00 ms" in lines[0]
    assert lines[1].startswith("gateway CPU per stream: 6.00 ms vs bare aiohttp relay 5.00 ms: 1.20 x")
    assert lines[2].startswith("LiteLLM proxy vs gateway: CPU per stream 84.00 ms vs 6.00 ms (14.00 x)")
    assert "0.9 x streams/s" in lines[3] and "mock CPU per zero-delay stream 0.90 ms" in lines[3]
    assert lines[4].startswith("aimock: 990.0 streams/s") and lines[5].startswith("mock --workers 2 vs")
    assert "p99 2.60 ms" in lines[6] and "missed" in lines[6]


def test_each_skipped_comparison_is_one_printed_line_and_a_line_of_the_report():
    results = json.loads(json.dumps(RESULTS))
    del results["overhead"]["paths"]["litellm"], results["throughput"]["servers"]["mock-workers-2"]
    results["skipped"] = {
        "litellm": "LiteLLM proxy is not installed: install it with `make bench`",
        "workers": "`mockopenai serve --help` lists no --workers option",
    }
    lines = summary_lines(results)
    assert (
        "LiteLLM proxy side by side: skipped: LiteLLM proxy is not installed: install it with `make bench`"
        in lines
    )
    assert (
        "mockopenai serve --workers 2 vs --workers 1: skipped: `mockopenai serve --help` lists no --workers option"
        in lines
    )
    assert not any(line.startswith(("LiteLLM proxy vs gateway", "mock --workers 2 vs")) for line in lines)
    v = verdicts(results)
    assert v["litellm_cpu"] is v["litellm_p99"] is v["workers"] is None
    text = render_markdown(results, {"cpus": 2}, 1.0)
    assert "skipped: LiteLLM proxy is not installed: install it with `make bench` |" in text
    assert "## Mock throughput" in text and "`--workers 2`: skipped (`mockopenai serve --help`" in text
    assert "- LiteLLM proxy side by side: LiteLLM proxy is not installed" in text


@pytest.mark.end_to_end  # seconds of real streams through every side: its own .ci/run step
def test_a_quick_bench_run_measures_all_four(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.bench", "--quick", "--without", "aimock", "--without", "workers"]
        + ["--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    assert printed[0].startswith("gateway overhead on TTFT at 5 streams: p50 ")
    assert "; bare relay p50 " in printed[0]
    assert printed[1].startswith("gateway CPU per stream: ") and " vs bare aiohttp relay " in printed[1]
    assert printed[2].startswith("mock throughput vs bare aiohttp SSE: ")
    assert "mock CPU per zero-delay stream " in printed[2]
    rest = printed[3:]
    assert rest[0].startswith("timing fidelity at 10 streams: TTFT error p50 ")
    assert rest[1].startswith("held streams through the gateway: 20 open at once of 20 sent")
    assert "LiteLLM proxy side by side: skipped: left out of --quick" in proc.stdout
    assert "aimock side by side: skipped: left out with --without" in proc.stdout
    assert "mockopenai serve --workers 2 vs --workers 1: skipped: left out with --without" in proc.stdout
    text = out.read_text()
    assert "| direct (the mock) | 5 | 0 |" in text and "| reference gateway | 5 | 0 |" in text
    assert "| bare aiohttp relay | 5 | 0 |" in text  # no failed streams on any side
    assert "Machine: cpus" in text and "A `--quick` smoke run" in text
    assert "## Held streams" in text


def test_workers_cannot_show_scaling_when_one_worker_already_fills_the_machine():
    results = json.loads(json.dumps(RESULTS))
    results["throughput"]["cores"] = 2
    results["throughput"]["servers"]["mock"]["machine_busy_pct"] = 186.0  # server + client: 1.86 cores
    results["throughput"]["servers"]["mock-workers-2"]["streams_per_s"] = 460.0
    assert verdicts(results)["workers"] is None  # not a miss: the ratio would measure the machine
    line = next(x for x in summary_lines(results) if x.startswith("mock --workers 2 vs"))
    assert line.endswith(
        "(target >= 1.5 x: machine-limited: the 1-worker rounds already kept 1.86 of 2 cores busy)"
    )
    assert (
        "| >= 1.5 x | machine-limited: the 1-worker rounds already kept 1.86 of 2 cores busy |"
        in render_markdown(results, {"cpus": 2}, 1.0)
    )


def test_a_latency_verdict_from_a_saturated_machine_says_so(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    results = json.loads(json.dumps(RESULTS))
    results["overhead"]["paths"]["gateway"]["machine_busy_pct"] = 199.0
    note = "(machine-limited: 1.99 of 2 cores busy)"
    assert f"met / missed {note})" in summary_lines(results)[0]
    assert f"| met / missed {note} |" in render_markdown(results, {"cpus": 2}, 1.0)
    assert "machine-limited" not in summary_lines(RESULTS)[0]  # 150 % of 2 cores: not saturated

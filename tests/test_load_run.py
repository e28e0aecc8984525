"""`harness load` end to end: real mock and gateway processes, headless Locust, a few users, seconds.

These are the shortest runs that show the machinery: a distributed run (master + 2 workers), the
gateway under the 2 % brownout, and the harsh scenario failing its targets with a clear table.
"""

from __future__ import annotations

import json

import pytest

from harness.cli import main

TINY_TARGETS = """
description: a tiny run's targets
scenario: load-brownout-2pct-429
targets:
  - {name: error rate, metric: error_rate, below: 0.01, unit: "%"}
"""


def run_load(capsys, tmp_path, *args: str) -> tuple[int, str, dict]:
    out_json = tmp_path / "load.json"
    code = main(["load", "--json", str(out_json), "--stop-timeout", "2", *args])
    printed = capsys.readouterr().out
    return code, printed, json.loads(out_json.read_text())


def tiny_targets(tmp_path) -> str:
    path = tmp_path / "targets.yaml"
    path.write_text(TINY_TARGETS)
    return str(path)


@pytest.mark.end_to_end  # a Locust master and two workers: its own .ci/run step
def test_distributed_run_has_a_master_and_two_workers_on_loopback(capsys, tmp_path):
    code, printed, doc = run_load(
        capsys,
        tmp_path,
        "--user",
        "mock",
        "--workers",
        "2",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        "2s",
        "--scenario",
        "",
        "--targets",
        tiny_targets(tmp_path),
    )
    assert code == 0, printed
    assert doc["run"]["workers"] == 2
    assert len(doc["nodes"]) == 2  # both workers streamed, and the master gathered their samples
    assert doc["measured"]["requests"] >= 4 and doc["measured"]["failures"] == 0
    assert len(doc["ttft_ms_samples"]) == doc["measured"]["requests"]
    assert sum(row["requests"] for row in doc["per_second"]) == doc["measured"]["requests"]
    cpu = {p["name"]: p for p in doc["cpu"]["processes"]}  # every process of the run, workers too
    assert {"mock", "locust-master", "locust-worker-0", "locust-worker-1"} <= set(cpu)
    assert cpu["locust-worker-0"]["cpu_s"] > 0 and doc["cpu"]["streams"] == doc["measured"]["requests"]
    assert "CPU over the " in printed and "  locust-worker-1 " in printed
    assert doc["cpu"]["verdict"].startswith(("the machine was the limit", "the machine had headroom"))
    for entry in ("TTFT", "ITL", "TOTAL"):  # the stream's own Locust entries, in the master's summary
        assert any(line.startswith(entry) and "/v1/chat/completions" in line for line in printed.splitlines())
    assert "PASS" in printed


def test_gateway_under_the_2pct_brownout_streams_with_the_scenario_ttft(capsys, tmp_path):
    code, printed, doc = run_load(
        capsys,
        tmp_path,
        "-u",
        "6",
        "-r",
        "6",
        "-t",
        "2s",
        "--think-time",
        "0.2",
        "--targets",
        tiny_targets(tmp_path),
    )
    assert code == 0, printed
    assert doc["run"]["scenario"] == "load-brownout-2pct-429"
    m = doc["measured"]
    assert m["requests"] >= 6 and m["failures"] == 0
    assert m["ttft_ms"]["p50"] >= 150.0  # the mock's TTFT reaches the client through the gateway
    assert m["inter_token_ms"]["count"] > 0
    retried = sum(row["with_retries"] for row in doc["per_second"])
    assert m["retry_rate"] == retried / m["requests"]
    assert any(line.startswith("TTFT") and "/api/v1/chat" in line for line in printed.splitlines())


def test_harsh_scenario_misses_the_targets_and_says_which(capsys, tmp_path):
    code, printed, doc = run_load(
        capsys, tmp_path, "--scenario", "load-harsh", "-u", "8", "-r", "8", "-t", "2s"
    )
    assert code == 1
    assert doc["passed"] is False
    verdicts = {t["name"]: t["ok"] for t in doc["targets"]}
    assert verdicts["TTFT p95"] is False  # the scenario's TTFT alone is 500 ms
    assert doc["measured"]["ttft_ms"]["p95"] > 350
    rows = {line.split("  ")[0]: line for line in printed.splitlines() if line.endswith(("PASS", "FAIL"))}
    assert rows["TTFT p95"].endswith("FAIL")
    assert "FAIL: results in" in printed

"""The main job's table and report files, and `harness run` on a slice of the catalogue."""

from __future__ import annotations

import json
import zlib

from harness.cli import main
from harness.load.cpu_report import cpu_document
from harness.load.proc_cpu import CpuUse
from harness.report_files import Row, report_table, write_report


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length = int.from_bytes(data[8:12], "big")
    ihdr = data[16 : 16 + length]
    assert zlib.crc32(data[12 : 16 + length]) == int.from_bytes(data[16 + length : 20 + length], "big")
    return int.from_bytes(ihdr[:4], "big"), int.from_bytes(ihdr[4:8], "big")


def test_table_says_fail_when_one_row_fails():
    rows = [
        Row("catalogue", "a", True, "x", "as expected"),
        Row("load", "TTFT p95", False, "< 350 ms", "900 ms"),
    ]
    text = report_table(rows)
    assert text.splitlines()[-1] == "FAIL: 1/2 checks passed"
    assert "FAIL     load" in text and "PASS     catalogue" in text
    # each section's header says what its columns hold
    assert "symptom reproduced" in text and "what the stack did" in text
    assert any(line.split()[:3] == ["verdict", "section", "target"] for line in text.splitlines())


def test_long_texts_wrap_and_are_never_cut():
    reason = "TargetsError: cannot read targets: /a/very/long/path/" + "x" * 80 + "/targets.yaml"
    lines = report_table([Row("load", "load run", False, "completes", reason)]).splitlines()
    at = lines[0].index("measured")
    body = lines[2 : lines.index(lines[1], 2)]  # between the header's rule and the closing one
    assert "".join(line[at:] for line in body).replace(" ", "") == reason.replace(" ", "")
    assert len(body) > 1 and max(len(line) for line in lines) < 120


def test_report_has_json_html_and_two_real_pngs(tmp_path):
    load = {
        "targets": [{"metric": "ttft_ms.p95", "limit": 350}],
        "ttft_ms_samples": [150.0, 180.0, 420.0],
        "per_second": [{"second": 0, "requests": 3, "with_retries": 1, "failures": 0}],
    }
    rows = [Row("load", "TTFT p95", False, "< 350 ms", "420 ms")]
    files = write_report(tmp_path, rows, [], load, {"cpus": 2})
    doc = json.loads(files["json"].read_text())
    assert doc["passed"] is False and doc["verdicts"][0]["name"] == "TTFT p95"
    html = files["html"].read_text()
    assert "ttft_histogram.png" in html and "retries_over_time.png" in html and "FAIL" in html
    assert _png_size(files["ttft"].read_bytes()) == (700, 360)
    assert _png_size(files["retries"].read_bytes())[0] > 0


def test_report_shows_the_cpu_of_each_process_and_whether_the_machine_was_the_limit(tmp_path):
    cpu = cpu_document(
        [CpuUse("mock", 3.2, 10.0), CpuUse("gateway", 10.0, 10.0), CpuUse("locust", 9.7, 10.0)],
        1150,
        10.0,
        None,
        cores=2,
        load_avg_1m=2.6,
    )
    load = {"targets": [], "ttft_ms_samples": [], "per_second": [], "cpu": cpu}
    files = write_report(
        tmp_path, [Row("load", "TTFT p95", True, "< 350 ms", "300 ms")], [], load, {"cpus": 2}
    )
    html = files["html"].read_text()
    assert "<h2>CPU of each process</h2>" in html and "1150 streams, 2 cores" in html
    assert "<tr><td>gateway</td><td>100.0 %</td><td>8.70</td></tr>" in html
    assert "<tr><td>all of the run</td><td>229.0 %</td>" in html
    assert "<p class=fail><b>the machine was the limit, not the system under test: " in html
    assert "locust (the load generator) was at 97 % of a core" in html
    doc = json.loads(files["json"].read_text())
    assert doc["load"]["cpu"]["machine_limited"] is True
    assert [p["name"] for p in doc["load"]["cpu"]["processes"]] == ["mock", "gateway", "locust"]


def test_harness_run_on_one_scenario_without_load(tmp_path, capsys):
    code = main(["run", "--no-load", "--only", "no-connector-for-service", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: 1/1 checks passed" in out
    assert json.loads((tmp_path / "run.json").read_text())["passed"] is True

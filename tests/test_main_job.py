"""The main job's table and report files, and `harness run` on a slice of the catalogue."""

from __future__ import annotations

import json
import zlib

from harness.cli import main
from harness.report_files import Row, render_table, write_report


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
    text = render_table(rows)
    assert text.splitlines()[-1] == "FAIL: 1/2 checks passed"
    assert "FAIL  load" in text and "PASS  catalogue" in text


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


def test_harness_run_on_one_scenario_without_load(tmp_path, capsys):
    code = main(["run", "--no-load", "--only", "no-connector-for-service", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: 1/1 checks passed" in out
    assert json.loads((tmp_path / "run.json").read_text())["passed"] is True

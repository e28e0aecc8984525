"""loadtests/targets.yaml holds seed 004's numbers, and a run is judged and tabulated against them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load.samples import LoadSamples, results_of
from harness.load.stream_watch import StreamOutcome
from harness.load.targets import TargetsError, evaluate, load_targets, verdict_table

ROOT = Path(__file__).resolve().parents[1]


def test_targets_file_says_ttft_p95_350ms_errors_1pct_retries_5pct_at_100_users():
    targets = load_targets(ROOT / "loadtests" / "targets.yaml")
    by_metric = {t.metric: (t.bound, t.limit) for t in targets.targets}
    assert by_metric == {
        "users": ("at_least", 100),
        "ttft_ms.p95": ("below", 350),
        "error_rate": ("below", 0.01),
        "retry_rate": ("below", 0.05),
    }
    assert targets.scenario == "load-brownout-2pct-429"
    assert (ROOT / "scenarios" / "load" / f"{targets.scenario}.yaml").exists()


def measured(ttft_p95: float, error_rate: float, retry_rate: float, users: int = 100) -> dict:
    return {"users": users, "ttft_ms": {"p95": ttft_p95}, "error_rate": error_rate, "retry_rate": retry_rate}


def test_a_run_within_every_target_passes():
    verdicts = evaluate(load_targets(ROOT / "loadtests" / "targets.yaml"), measured(240.0, 0.004, 0.021))
    assert all(v.ok for v in verdicts)


def test_a_run_missing_targets_prints_which_and_by_how_much():
    verdicts = evaluate(load_targets(ROOT / "loadtests" / "targets.yaml"), measured(612.5, 0.0526, 0.05, 40))
    assert [v.target.name for v in verdicts if not v.ok] == [
        "concurrent users",
        "TTFT p95",
        "error rate",
        "retry rate",
    ]
    table = verdict_table(verdicts)
    lines = table.splitlines()
    assert lines[0].split() == ["target", "limit", "measured", "verdict"]
    assert "TTFT p95" in lines[3] and "< 350.0 ms" in lines[3] and "612.5 ms" in lines[3]
    assert lines[3].endswith("FAIL")
    assert "5.26 %" in lines[4]
    assert "5.00 %" in lines[5]  # 5 % retries is not below 5 %


def test_no_samples_is_a_miss_not_a_pass():
    verdicts = evaluate(
        load_targets(ROOT / "loadtests" / "targets.yaml"), results_of([], [])["measured"] | {"users": 100}
    )
    assert [v.ok for v in verdicts] == [True, False, False, False]
    assert "no data" in verdict_table(verdicts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets: []", "non-empty 'targets' list"),
        (
            "targets: [{name: x, metric: error_rate}]",
            r"targets\[0\]: expected exactly one of below, at_least",
        ),
        ("targets: [{name: x, metric: error_rate, below: fast}]", r"targets\[0\].below: expected a number"),
        ("targets: [{name: x, metric: error_rate, below: 1, unit: sec}]", r"targets\[0\].unit"),
        ("targets: [{metric: error_rate, below: 1}]", r"targets\[0\].name"),
    ],
)
def test_a_bad_targets_file_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(TargetsError, match=message) as err:
        load_targets(path)
    assert str(path) in str(err.value)


def test_samples_give_rates_and_per_second_retry_counts():
    samples = LoadSamples(node="w1")
    t0 = 1_700_000_000.0
    samples.add(StreamOutcome(ok=True, ttft_ms=150.0, total_ms=300.0, retries=0), t0)
    samples.add(StreamOutcome(ok=True, ttft_ms=310.0, total_ms=460.0, retries=1, gaps_ms=[10.0]), t0 + 0.5)
    other = LoadSamples(node="w2")
    other.add(StreamOutcome(ok=False, failure="in_band_error: RATE_LIMIT", retries=2), t0 + 1.2)
    samples.merge(other.drain())
    assert other.drain() == {"streams": [], "gaps_ms": []}

    results = samples.results()
    m = results["measured"]
    assert (m["requests"], m["failures"]) == (3, 1)
    assert m["error_rate"] == pytest.approx(1 / 3) and m["retry_rate"] == pytest.approx(2 / 3)
    assert m["ttft_ms"]["p50"] == 230.0 and m["inter_token_ms"]["count"] == 1
    assert results["ttft_ms_samples"] == [150.0, 310.0]
    assert results["per_second"] == [
        {"second": 0, "requests": 2, "failures": 0, "with_retries": 1, "retries": 1},
        {"second": 1, "requests": 1, "failures": 1, "with_retries": 1, "retries": 2},
    ]
    assert results["failure_reasons"] == {"in_band_error": 1}
    assert results["nodes"] == ["w1", "w2"]

"""A missing optional piece is one line naming the pip install that brings it."""

from __future__ import annotations

import importlib.util

import pytest

from harness.cli import main as harness


@pytest.fixture
def without(monkeypatch):
    def hide(*names: str) -> None:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n in names else real(n, *a))

    return hide


def test_harness_load_without_locust_names_the_extra(without, capsys):
    without("locust")
    assert harness(["load", "-t", "1s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "harness load needs Locust, which is not installed: pip install 'locust>=2.20' 'matplotlib>=3.8'"
        " (the load extra)"
    ]


def test_harness_run_without_matplotlib_names_the_extra_and_the_way_around_it(without, capsys):
    without("matplotlib")
    assert harness(["run"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert (
        "pip install 'locust>=2.20' 'matplotlib>=3.8' (the load extra)" in line
        and "harness run --no-load" in line
    )


def test_a_run_smaller_than_the_targets_says_how_to_check_it():
    from harness.commands.load import smaller_run_hint
    from harness.load.run import DEFAULT_TARGETS
    from harness.load.targets import evaluate, load_targets

    targets = load_targets(DEFAULT_TARGETS)
    measured = {"users": 50, "ttft_ms": {"p95": 200.0}, "error_rate": 0.0, "retry_rate": 0.01}
    hint = smaller_run_hint(evaluate(targets, measured), None)
    assert hint is not None and "pass --targets FILE" in hint and "loadtests/targets.yaml" in hint
    assert smaller_run_hint(evaluate(targets, measured | {"users": 100}), None) is None

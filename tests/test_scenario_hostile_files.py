"""Hostile scenario files: each gets one located error, quickly, from `mockopenai validate` -
never a hang, a RecursionError traceback or a server that never comes up."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from mockserver.scenario.schema import MAX_ATTEMPTS, ScenarioError, parse_text


def laughs(levels: int = 9, fold: int = 9) -> str:
    """Nine levels of nine-fold aliases under expect: (607 bytes, 9**9 values expanded)."""
    lines = ["description: billion laughs", "expect:", '  a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(fold))
        lines.append(f"  a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "aliases under expect": (laughs(), "x.yaml:", "once its aliases are expanded"),
    "aliases under stack": (
        laughs().replace("expect:", "stack:"),
        "x.yaml:",
        "once its aliases are expanded",
    ),
    "10,000-deep nesting": (
        "description: deep\nexpect: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "x.yaml:2:",
        "nest",  # ours past 64 levels, or libyaml's own limit first
    ),
    "a billion tokens": (
        "description: big\nresponse: {tokens: 1000000000}\n",
        "x.yaml:2: response.tokens:",
        "between 1 and 100000",
    ),
    "a huge file": ("description: huge\nreproduces: " + "x" * 300_000 + "\n", "x.yaml:1: (file):", "at most"),
    "too many attempts": (
        "description: many\nattempts:\n" + "  - ok\n" * (MAX_ATTEMPTS + 1),
        "x.yaml:2: attempts:",
        f"a scenario has at most {MAX_ATTEMPTS}",
    ),
}


@pytest.mark.parametrize(("text", "where", "why"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_is_one_located_error_in_well_under_a_second(text, where, why):
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "x.yaml")
    assert time.perf_counter() - started < 5  # it hung, or took 7-30 s, before the bounds
    [problem] = caught.value.problems
    assert problem.startswith(where) and why in problem, problem


def test_aliases_within_the_bound_still_work():
    text = "description: shared\nstack: {drive: sdk, input: &s {model: m}}\nexpect: {sdk: {outcome: ok, sent: *s}}\n"
    assert parse_text(text, "ok.yaml").expect["sdk"]["sent"] == {"model": "m"}


def test_validate_and_serve_refuse_the_607_byte_file_at_once(tmp_path):
    bad = tmp_path / "laughs.yaml"
    bad.write_text(laughs())
    assert len(laughs()) < 700
    for argv in (["validate", str(bad)], ["serve", "--port", "0", "--scenarios", str(bad)]):
        done = subprocess.run(
            [sys.executable, "-m", "mockserver.cli", *argv], capture_output=True, text=True, timeout=30
        )
        assert done.returncode != 0
        assert f"{bad}:" in done.stdout + done.stderr and "Traceback" not in done.stderr

"""Every shipped scenario replays green under ``harness repro``.

Each YAML file in scenarios/faults/ and scenarios/gateway/ says in ``stack:`` which part of the
reference stack to drive and in ``expect:`` the client-visible symptom the fault must produce; a
new file there is a new test, with no code. Files in scenarios/load/ are for load runs: only those that one request
replays meaningfully carry a ``stack:`` block, and only those are replayed here. The last tests pin
the facts those expectations read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.repro import run_scenario
from harness.repro.drivers import retry_facts
from harness.repro.drivers.client_tap import TappedResponse
from harness.repro.scenario_file import SUFFIXES, load
from servekit.sse import SSEReader

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FOLDERS = ("faults", "gateway")


def scenario_files(folder: str) -> list[Path]:
    return sorted(p for p in (SCENARIOS / folder).iterdir() if p.suffix in SUFFIXES)


def replayable(path: Path) -> bool:
    return "stack" in (yaml.safe_load(path.read_text()) or {})


CATALOGUE = [path for folder in FOLDERS for path in scenario_files(folder)] + [
    path for path in scenario_files("load") if replayable(path)
]


def test_every_replayed_scenario_says_what_to_drive_and_what_to_expect():
    assert len(scenario_files("faults")) >= 25 and len(scenario_files("gateway")) >= 5
    for path in CATALOGUE:
        assert replayable(path), f"{path.name}: no 'stack:' block, so repro cannot choose what to drive"
        assert load(str(path)).expect, f"{path.name}: 'expect:' must state the client-visible symptom"


@pytest.mark.parametrize("path", CATALOGUE, ids=[f"{p.parent.name}/{p.stem}" for p in CATALOGUE])
def test_scenario_replays_green_under_repro(path):
    result = run_scenario(str(path))
    assert result.checks, result.report_text()
    assert result.ok, result.report_text()


def test_retry_facts_count_retried_attempts_and_the_real_wait_before_each():
    journal = [
        {"received_at": 100.000, "retry_count": 0},
        {"received_at": 100.250, "retry_count": 1},
        {"received_at": 101.250, "retry_count": 2},
        {"received_at": 101.300, "retry_count": 0},  # a new call, not a retry
    ]
    assert retry_facts(journal) == {
        "retries": 2,
        "retry_waits_ms": [250.0, 1000.0],
        "min_retry_wait_ms": 250.0,
    }
    assert retry_facts(journal[:1]) == {"retries": 0, "retry_waits_ms": [], "min_retry_wait_ms": None}


def test_the_client_tap_sees_heartbeats_done_and_rate_limit_headers():
    seen = TappedResponse(
        200,
        {
            "x-ratelimit-remaining-requests": "2",
            "x-ratelimit-limit-tokens": "200",
            "content-type": "text/event-stream",
        },
    )
    seen.frames = SSEReader().feed(b': keep-alive\n\ndata: {"id": 1}\n\n: keep-alive\n\ndata: [DONE]\n\n')
    assert (seen.comments, seen.done) == (2, True)
    assert seen.ratelimit() == {"remaining_requests": "2", "limit_tokens": "200"}
    seen.frames = seen.frames[:3]
    assert seen.done is False

"""TTFT with memory: the Locust gateway user that keeps one session and sends ``useMemory: true``.

``harness load --user gateway-memory`` runs it against ``loadtests/targets-memory.yaml`` (TTFT
p95 with memory < 500 ms); whether memory was really read comes from the gateway's telemetry.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from harness.cli import main
from harness.gateway.validation import SESSION_ID_RE
from harness.load.locust_run import LocustPlan
from harness.load.memory import memory_figures, new_session_id
from harness.load.run import DEFAULT_TARGETS, MEMORY_TARGETS, targets_for
from harness.load.targets import load_targets

ROOT = Path(__file__).resolve().parents[1]

TINY_TARGETS = """
description: a tiny memory run's targets
scenario: load-brownout-2pct-429
targets:
  - {name: error rate, metric: error_rate, below: 0.01, unit: "%"}
  - {name: turns that read earlier turns, metric: memory.recall_rate, at_least: 0.5, unit: "%"}
"""


def test_session_ids_have_the_shape_the_gateway_accepts():
    sid = new_session_id(datetime(2025, 8, 19, 14, 30, 22, tzinfo=UTC), random.Random(1))
    assert sid.startswith("session-20250819-143022-") and SESSION_ID_RE.match(sid)
    assert all(SESSION_ID_RE.match(new_session_id()) for _ in range(50))
    assert len({new_session_id() for _ in range(50)}) > 1


def test_memory_figures_count_the_turns_that_read_earlier_ones():
    calls = [
        {"session_id": None, "memory_turns": 0, "memory_ms": None},  # a warm-up turn, no session
        {"session_id": "s1", "memory_turns": 0, "memory_ms": 1.5},  # a user's first turn
        {"session_id": "s1", "memory_turns": 2, "memory_ms": 2.5},
        {"session_id": "s1", "memory_turns": 4, "memory_ms": 3.5},
    ]
    m = memory_figures(calls)
    assert (m["turns"], m["recalled"]) == (3, 2)
    assert m["recall_rate"] == 2 / 3
    assert m["memory_ms"]["count"] == 3 and m["memory_ms"]["max"] == 3.5
    assert memory_figures([])["recall_rate"] is None


def test_the_memory_user_has_its_own_targets_with_the_500_ms_bound():
    assert targets_for("gateway-memory") == MEMORY_TARGETS
    assert targets_for("gateway") == targets_for("mock") == DEFAULT_TARGETS
    memory, plain = load_targets(MEMORY_TARGETS), load_targets(DEFAULT_TARGETS)
    bounds = {t.name: (t.metric, t.bound, t.limit) for t in memory.targets}
    assert bounds["TTFT p95 with memory"] == ("ttft_ms.p95", "below", 500.0)
    assert bounds["concurrent users"] == ("users", "at_least", 100.0)
    assert bounds["turns that read earlier turns"] == ("memory.recall_rate", "at_least", 0.5)
    assert memory.scenario == plain.scenario  # the same 150 ms brownout, with memory on top


def test_the_locust_command_names_the_memory_user_class():
    plan = LocustPlan(user="gateway-memory", users=3, spawn_rate=3, run_time="2s", results_json="/r.json")
    assert plan.local_argv()[-1] == "GatewayMemoryChatUser"
    # the class itself, loaded as Locust loads the file (in a process of its own: Locust patches
    # the standard library with gevent when it is imported)
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('locustfile', {str(ROOT / 'loadtests' / 'locustfile.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(issubclass(m.GatewayMemoryChatUser, m.GatewayChatUser), m.GatewayMemoryChatUser.abstract)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "False"]


def test_a_short_memory_run_reads_earlier_turns_and_times_ttft_to_the_first_token(
    capsys, tmp_path, monkeypatch
):
    # heartbeats every 50 ms reach the client long before the scenario's 150 ms first token
    monkeypatch.setenv("OPENAI_SSE_HEARTBEAT_MS", "50")
    targets = tmp_path / "targets.yaml"
    targets.write_text(TINY_TARGETS)
    out_json = tmp_path / "load.json"
    code = main(
        [
            "load",
            "--user",
            "gateway-memory",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "3s",
            "--think-time",
            "0.2",
            "--stop-timeout",
            "2",
            "--targets",
            str(targets),
            "--json",
            str(out_json),
        ]
    )
    printed = capsys.readouterr().out
    doc = json.loads(out_json.read_text())
    assert code == 0, printed
    assert doc["run"]["user"] == "gateway-memory"
    m = doc["measured"]
    assert m["requests"] >= 6 and m["failures"] == 0
    memory = m["memory"]
    assert memory["turns"] == m["requests"]  # every measured turn named its session
    assert memory["turns"] - memory["recalled"] == 3  # only each of the 3 users' first turn had none
    assert min(doc["ttft_ms_samples"]) >= 150.0  # to the first token, not a comment or heartbeat
    rows = [line for line in printed.splitlines() if "/api/v1/chat (memory)" in line]
    assert any(line.startswith("TTFT") for line in rows)
    assert f"memory: {memory['recalled']} of {memory['turns']} turns read earlier turns" in printed

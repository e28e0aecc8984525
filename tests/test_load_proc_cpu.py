"""CPU time from /proc: the reader against this very process, the sampler's windows, and the verdict
on whether the machine, not the system under test, was the limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.load import proc_cpu
from harness.load.proc_cpu import CpuMeter, CpuSampler, CpuUse, machine_verdict, parse_stat

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_parse_stat_counts_fields_after_the_last_parenthesis():
    # a command name with spaces and a ")" of its own must not shift the fields
    fields = ["S", "4242"] + ["0"] * 9 + ["250", "50"] + ["0"] * 30
    text = f"1234 (odd) name (x)) {' '.join(fields)}"
    ppid, cpu = parse_stat(text)
    assert ppid == 4242
    assert cpu == pytest.approx(300 / proc_cpu.CLK_TCK)


def test_cpu_seconds_of_this_process_follows_its_own_cpu_clock():
    before, clock = proc_cpu.cpu_seconds(os.getpid()), time.process_time()
    burn(0.15)
    after, spent = proc_cpu.cpu_seconds(os.getpid()), time.process_time() - clock
    assert before is not None and after is not None
    assert after - before == pytest.approx(spent, abs=3.0 / proc_cpu.CLK_TCK + 0.02)
    assert proc_cpu.cpu_seconds(2**22 + 12345) is None  # no such process: None, not an error


def test_a_tree_counts_the_children_and_alone_does_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in proc_cpu.descendants(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.01)
        cpu, count = proc_cpu.tree_cpu_seconds(os.getpid())
        assert count >= 2 and cpu is not None
        meter = CpuMeter({"tree": os.getpid(), "me": os.getpid()}, alone=["me"]).start()
        burn(0.05)
        uses = meter.stop()
        assert uses["me"].processes == 1 and uses["tree"].processes >= 2
        assert uses["me"].cpu_s > 0 and uses["me"].wall_s > 0
    finally:
        child.kill()
        child.wait()


def test_a_phase_gives_share_of_a_core_and_ms_per_stream():
    use = CpuUse("gateway", cpu_s=1.5, wall_s=3.0)
    assert use.share_of_core == 0.5
    assert use.ms_per(300) == 5.0 and use.ms_per(0) is None
    assert use.as_dict(300) == {
        "name": "gateway",
        "processes": 1,
        "cpu_s": 1.5,
        "pct_of_core": 50.0,
        "ms_per_stream": 5.0,
    }


def test_the_sampler_cuts_a_window_between_samples():
    sampler = CpuSampler(clock=lambda: 0.0)
    sampler.series["gateway"] = proc_cpu._Series(1, [(100.0, 10.0, 1), (102.0, 12.0, 1), (104.0, 16.0, 1)])
    sampler.series["locust"] = proc_cpu._Series(2, [(100.0, 1.0, 1), (101.0, 1.5, 1)])  # ended at 101
    sampler.machine = [(100.0, 50.0), (104.0, 56.0)]
    uses, busy = sampler.window(101.0, 103.0)
    assert uses["gateway"].cpu_s == pytest.approx(3.0)  # 11 at 101 → 14 at 103
    assert uses["locust"].cpu_s == pytest.approx(0.0)  # nothing after its last sample
    assert uses["gateway"].wall_s == 2.0 and busy == pytest.approx(3.0)


def test_the_sampler_thread_reads_a_live_process():
    with CpuSampler(period_s=0.02) as sampler:
        sampler.watch("me", os.getpid())
        t0 = time.time()
        burn(0.1)
        t1 = time.time()
    uses, busy = sampler.window(t0, t1)
    assert uses["me"].cpu_s > 0.03
    if Path("/proc/stat").exists():  # the whole machine was at least as busy as the burn
        assert busy is not None and busy > 0.03
    else:
        assert busy is None


def use(name: str, share: float, processes: int = 1) -> CpuUse:
    return CpuUse(name, cpu_s=share * 10.0, wall_s=10.0, processes=processes)


def test_the_machine_is_the_limit_when_the_run_takes_nearly_every_core():
    v = machine_verdict([use("mock", 0.4), use("gateway", 1.0), use("locust", 0.45)], 2, ["locust"], 1.2)
    assert v.limited
    assert "the processes of the run used 1.85 of 2 cores" in v.reasons
    assert v.text().startswith("the machine was the limit, not the system under test: ")


def test_the_machine_is_the_limit_when_locust_sits_at_a_full_core():
    v = machine_verdict([use("gateway", 0.3), use("locust", 0.97)], 4, ["locust"], 0.5)
    assert v.limited and v.reasons == ["locust (the load generator) was at 97 % of a core"]


def test_the_machine_is_the_limit_when_the_load_average_is_above_the_cores():
    v = machine_verdict([use("gateway", 0.3)], 2, [], load_avg_1m=3.4)
    assert v.limited and v.reasons == ["load average (1 min) 3.40 on 2 cores: processes queued for a core"]


def test_other_work_on_the_machine_counts_too():
    v = machine_verdict([use("gateway", 0.5)], 2, [], load_avg_1m=1.0, machine_busy_s=19.0)
    assert v.limited
    assert v.reasons == ["the whole machine was 1.90 of 2 cores busy (1.40 other work)"]


def test_headroom_and_a_cpu_bound_system_under_test_are_told_apart():
    uses = [use("mock", 0.3), use("gateway", 0.95), use("locust-worker-0", 0.3), use("locust-worker-1", 0.3)]
    v = machine_verdict(uses, 4, ["locust-worker-0", "locust-worker-1"], load_avg_1m=1.5)
    assert not v.limited
    assert "gateway was at 95 % of its one core: the system under test was CPU-bound" in v.notes
    assert v.text().startswith("the machine had headroom: the processes of the run used 1.85 of 4 cores")
    several = machine_verdict([use("mock", 1.4, processes=3)], 4, [], 0.1)  # workers: no one-core limit
    assert not several.limited and not any("CPU-bound" in n for n in several.notes)

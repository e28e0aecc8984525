"""The CPU block of a load report: each process as % of one core and CPU ms per stream, printed and
kept in the JSON, with a plain sentence on whether the machine was the limit."""

from __future__ import annotations

from harness.load.cpu_report import cpu_document, cpu_lines, is_load_generator
from harness.load.proc_cpu import CpuUse
from harness.load.samples import results_of


def uses(**shares: float) -> list[CpuUse]:
    return [CpuUse(name.replace("_", "-"), cpu_s=share * 10.0, wall_s=10.0) for name, share in shares.items()]


def test_the_block_has_each_process_the_total_and_the_machine():
    doc = cpu_document(uses(mock=0.32, gateway=1.0, locust=0.31), 910, 10.0, 17.5, cores=2, load_avg_1m=1.6)
    assert [p["name"] for p in doc["processes"]] == ["mock", "gateway", "locust"]
    gateway = doc["processes"][1]
    assert gateway["pct_of_core"] == 100.0 and gateway["ms_per_stream"] == round(10_000 / 910, 3)
    assert doc["run_total"]["pct_of_core"] == 163.0 and doc["machine_busy_pct"] == 175.0
    assert doc["machine_limited"] is False  # 1.63 of 2 cores: below 90 %
    assert "gateway was at 100 % of its one core: the system under test was CPU-bound" in doc["verdict"]


def test_the_printed_table_says_when_the_machine_was_the_limit():
    doc = cpu_document(uses(mock=0.5, gateway=0.9, locust=0.5), 1000, 10.0, None, cores=2, load_avg_1m=2.4)
    lines = cpu_lines(doc)
    assert lines[0] == "CPU over the 10.0 s of load (1000 streams; 2 cores; load average (1 min) 2.40):"
    rows = {line.split()[0]: line for line in lines[2:-1]}
    assert rows["gateway"].split()[-3:] == ["90.0", "%", "9.00"]
    assert rows["all"].split()[-3:] == ["190.0", "%", "19.00"]
    assert lines[-1].startswith("the machine was the limit, not the system under test: ")
    assert "the processes of the run used 1.90 of 2 cores" in lines[-1]
    assert "load average (1 min) 2.40 on 2 cores: processes queued for a core" in lines[-1]


def test_distributed_locust_workers_are_load_generators_each_on_its_row():
    doc = cpu_document(
        uses(mock=0.2, gateway=0.4, locust_master=0.05, locust_worker_0=0.95, locust_worker_1=0.3),
        500,
        10.0,
        None,
        cores=8,
        load_avg_1m=1.0,
    )
    assert is_load_generator("locust-worker-0") and not is_load_generator("gateway")
    assert doc["machine_limited"] is True
    assert doc["reasons"] == ["locust-worker-0 (the load generator) was at 95 % of a core"]
    assert sum(line.strip().startswith("locust-") for line in cpu_lines(doc)) == 3


def test_without_proc_the_block_says_it_was_not_measured():
    doc = cpu_document([], 10, 5.0, None, cores=2, load_avg_1m=0.5)
    assert doc["machine_limited"] is None and doc["verdict"] == "CPU not measured (no /proc here)"
    assert cpu_lines(doc)[-1] == "CPU not measured (no /proc here)"
    assert cpu_lines(None) == []


def test_the_samples_give_the_measured_window():
    streams = [
        {"t": 100.0, "ok": True, "failure": None, "ttft_ms": 150.0, "total_ms": 2000.0, "retries": 0},
        {"t": 101.0, "ok": True, "failure": None, "ttft_ms": 150.0, "total_ms": 2500.0, "retries": 0},
    ]
    out = results_of(streams, [])
    assert out["started_at"] == 100.0 and out["ended_at"] == 103.5

"""The CPU block of a load report: each process of the run, and whether the machine was the limit.

:func:`cpu_document` turns a :class:`~harness.load.proc_cpu.CpuSampler`'s readings over the
measured window into the ``cpu`` block of ``reports/load.json`` (and so of ``run.json``);
:func:`cpu_lines` prints it as ``harness load`` and ``harness run`` show it; the HTML report
renders the same block. Pure: no process or file work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..text_table import text_table
from .proc_cpu import CpuSampler, CpuUse, machine_verdict

LOAD_GENERATOR_PREFIX = "locust"  # "locust", "locust-master", "locust-worker-N"


def is_load_generator(name: str) -> bool:
    return name.startswith(LOAD_GENERATOR_PREFIX)


def cpu_document(
    uses: Iterable[CpuUse],
    streams: int,
    window_s: float,
    machine_busy_s: float | None,
    cores: int | None = None,
    load_avg_1m: float | None = None,
) -> dict[str, Any]:
    uses = list(uses)
    cores = cores or os.cpu_count() or 1
    if load_avg_1m is None and hasattr(os, "getloadavg"):
        load_avg_1m = os.getloadavg()[0]
    total = sum(u.cpu_s for u in uses)
    doc: dict[str, Any] = {
        "window_s": round(window_s, 3),
        "streams": streams,
        "cores": cores,
        "load_avg_1m": None if load_avg_1m is None else round(load_avg_1m, 2),
        "processes": [u.as_dict(streams) for u in uses],
        "run_total": CpuUse("all processes of the run", total, window_s).as_dict(streams) if uses else None,
        "machine_busy_pct": None
        if machine_busy_s is None or window_s <= 0
        else round(machine_busy_s / window_s * 100.0, 1),
    }
    if not uses:
        doc.update(machine_limited=None, verdict="CPU not measured (no /proc here)", reasons=[], notes=[])
        return doc
    generators = [u.name for u in uses if is_load_generator(u.name)]
    verdict = machine_verdict(uses, cores, generators, load_avg_1m, machine_busy_s)
    doc.update(
        machine_limited=verdict.limited, verdict=verdict.text(), reasons=verdict.reasons, notes=verdict.notes
    )
    return doc


def cpu_from_sampler(
    sampler: CpuSampler, start: float, end: float, streams: int, cores: int | None = None
) -> dict[str, Any]:
    """The CPU block for the window ``start``..``end`` (epoch seconds) of a sampled run."""
    uses, busy = sampler.window(start, end)
    return cpu_document(uses.values(), streams, end - start, busy, cores)


def _num(value: float | None, fmt: str, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{fmt}}{unit}"


def cpu_lines(cpu: dict[str, Any] | None) -> list[str]:
    """The block as a small table, then the verdict in one sentence."""
    if not cpu:
        return []
    load = cpu.get("load_avg_1m")
    head = (
        f"CPU over the {cpu['window_s']:.1f} s of load ({cpu['streams']} streams; {cpu['cores']} cores; "
        f"load average (1 min) {_num(load, '.2f')}):"
    )
    rows = [("process", "% of one core", "CPU ms / stream")]
    for p in cpu.get("processes") or ():
        name = p["name"] if p.get("processes", 1) == 1 else f"{p['name']} ({p['processes']} processes)"
        rows.append((name, _num(p["pct_of_core"], ".1f", " %"), _num(p["ms_per_stream"], ".2f")))
    if total := cpu.get("run_total"):
        rows.append(
            ("all of the run", _num(total["pct_of_core"], ".1f", " %"), _num(total["ms_per_stream"], ".2f"))
        )
    busy = cpu.get("machine_busy_pct")
    if busy is not None:
        other = max(0.0, busy - (total["pct_of_core"] if total else 0.0))
        rows.append(("whole machine", f"{busy:.1f} %", f"({other:.1f} % other work)"))
    return [head, *text_table(rows, rule=False, right=(1, 2), indent="  "), cpu["verdict"]]

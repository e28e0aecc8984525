"""The main job (``make run`` / ``harness run``): the whole catalogue of reported failures replayed
against the reference stack, then a short load burst against the targets, one verdict table,
and a report under ``reports/``.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .load.cpu_report import cpu_lines
from .report_files import Row, render_table, write_report


@dataclass
class JobSettings:
    catalogue: str = "reported"
    load: bool = True
    users: int = 100
    spawn_rate: float = 50.0
    run_time: str = "10s"
    out_dir: str = "reports"
    only: list[str] = field(default_factory=list)  # scenario names, empty: all


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def run_catalogue(settings: JobSettings, say=print) -> tuple[list[Row], list[dict[str, Any]]]:
    from .repro.run import run_scenario
    from .repro.scenario_file import catalogue

    rows: list[Row] = []
    details: list[dict[str, Any]] = []
    for path in catalogue(settings.catalogue):
        if settings.only and path.stem not in settings.only:
            continue
        try:
            result = run_scenario(str(path))
        except Exception as exc:  # an unusable scenario is a failed row, not a crash of the job
            rows.append(Row("catalogue", path.stem, False, "scenario runs", f"{type(exc).__name__}: {exc}"))
            details.append({"name": path.stem, "ok": False, "error": str(exc)})
            continue
        failed = [c for c in result.checks if not c.ok]
        reproduces = result.scenario.reproduces or result.scenario.description
        got = "as expected" if result.ok else "; ".join(c.path for c in failed)[:200]
        rows.append(Row("catalogue", path.stem, result.ok, _short(reproduces), got))
        details.append(
            {
                "name": path.stem,
                "ok": result.ok,
                "reproduces": reproduces,
                "elapsed_s": round(result.elapsed_s, 3),
                "report": result.report_text(),
            }
        )
        say(f"  {'PASS' if result.ok else 'FAIL'}  {path.stem}")
    return rows, details


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_load_burst(settings: JobSettings, out_dir: Path) -> tuple[list[Row], dict[str, Any] | None]:
    from .load.run import MAIN_JOB_TARGETS, LoadSettings, run_load

    run = run_load(
        LoadSettings(
            users=settings.users,
            spawn_rate=settings.spawn_rate,
            run_time=settings.run_time,
            targets_path=str(MAIN_JOB_TARGETS),  # the seed's targets with a 250 ms TTFT margin
        )
    )
    run.write(out_dir / "load.json")
    rows = [Row("load", v.target.name, v.ok, v.target.limit_text(), _fmt_measured(v)) for v in run.verdicts]
    return rows, run.document()


def _fmt_measured(verdict: Any) -> str:
    from .load.targets import fmt

    return "no data" if verdict.measured is None else fmt(verdict.measured, verdict.target.unit)


def run_job(settings: JobSettings, say=print) -> int:
    out_dir = Path(settings.out_dir)
    say("== catalogue of reported failures, replayed against the reference stack ==")
    rows, catalogue = run_catalogue(settings, say)
    load_doc = None
    if settings.load:
        say(f"== load burst: {settings.users} users for {settings.run_time} through the gateway ==")
        try:
            load_rows, load_doc = run_load_burst(settings, out_dir)
        except Exception as exc:  # the load run itself broke: a failed row with the reason
            load_rows = [Row("load", "load run", False, "completes", f"{type(exc).__name__}: {exc}")]
        rows += load_rows
    files = write_report(out_dir, rows, catalogue, load_doc, machine())
    say("")
    say(render_table(rows))
    say("")
    if load_doc is not None and (cpu := cpu_lines(load_doc.get("cpu"))):
        for line in cpu:  # whether the figures above are the stack's or the machine's
            say(line)
        say("")
    say("report: " + ", ".join(str(p) for p in files.values()))
    return 0 if rows and all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(run_job(JobSettings()))

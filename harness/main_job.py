"""The main job (``make run`` / ``harness run``): the whole catalogue of reported failures replayed
against the reference stack, then a short load burst against the targets, one verdict table,
and a report under ``reports/``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .load.cpu_report import cpu_lines
from .report_files import Row, report_table, write_report


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
        "load average (1 min) at the end": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def stack_log(path: Path) -> Iterator[Path]:
    """What the stack logs while the job runs (retries, reconnects, tier fallbacks: the behaviour
    under test) goes to a file, so it never reads like a verdict row on the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


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
        if result.ok:
            got = f"as expected ({len(result.checks)} checks)"
        else:
            got = "; ".join(f"{c.path}: got {c.got!r}" for c in failed)
        rows.append(Row("catalogue", path.stem, result.ok, " ".join(reproduces.split()), got))
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
    with stack_log(out_dir / "stack.log") as log_path:
        return _run_job(settings, out_dir, log_path, say)


def _run_job(settings: JobSettings, out_dir: Path, log_path: Path, say) -> int:
    say(f"== catalogue of reported failures, replayed against the reference stack (its log: {log_path}) ==")
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
    say(report_table(rows))
    say("")
    if load_doc is not None and (cpu := cpu_lines(load_doc.get("cpu"))):
        for line in cpu:  # whether the figures above are the stack's or the machine's
            say(line)
        say("")
    say("report: " + ", ".join(str(p) for p in [*files.values(), log_path]))
    return 0 if rows and all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(run_job(JobSettings()))

"""The main job's report: one JSON document, an HTML page, and its two plots as PNGs.

Pure of any network or process work: it takes the figures the job measured and writes files.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .text_table import text_table


@dataclass(slots=True)
class Row:
    """One line of the verdict table. For a catalogue row ``expected`` is the reported symptom the
    scenario reproduces and ``got`` what the reference stack did about it; for a load row, the
    target's limit and the measured figure (:data:`COLUMNS` says so in each table's header)."""

    section: str  # "catalogue" | "load"
    name: str
    ok: bool
    expected: str
    got: str


COLUMNS = {
    "catalogue": ("scenario", "symptom reproduced", "what the stack did"),
    "load": ("target", "limit", "measured"),
}
CELL_WIDTH = 60  # longer texts wrap onto more lines; nothing is cut


def report_table(rows: Sequence[Row]) -> str:
    """One table per section, each with headers that say what its columns hold, then the verdict."""
    lines: list[str] = []
    for section in dict.fromkeys(r.section for r in rows):
        mine = [r for r in rows if r.section == section]
        head = ("verdict", "section", *COLUMNS.get(section, ("check", "expected", "got")))
        body = [("PASS" if r.ok else "FAIL", r.section, r.name, r.expected, r.got) for r in mine]
        table = text_table([head, *body], wrap=CELL_WIDTH)
        if lines:
            lines.append("")
        lines += [*table, table[1]]  # the rule under the header closes the section too
    passed = sum(r.ok for r in rows)
    verdict = "PASS" if rows and passed == len(rows) else "FAIL"
    return "\n".join([*lines, f"{verdict}: {passed}/{len(rows)} checks passed"])


def plot_ttft_histogram(samples_ms: Sequence[float], path: Path, target_ms: float | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    if samples_ms:
        ax.hist(samples_ms, bins=40, color="#3b7dd8")
    else:
        ax.text(0.5, 0.5, "no TTFT samples", ha="center", va="center", transform=ax.transAxes)
    if target_ms is not None:
        ax.axvline(target_ms, color="#d83b3b", linestyle="--", label=f"p95 target {target_ms:g} ms")
        ax.legend()
    ax.set_xlabel("time to first token (ms)")
    ax.set_ylabel("streams")
    ax.set_title("Client TTFT through the gateway")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_retries_over_time(per_second: Sequence[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    seconds = [row["second"] for row in per_second]
    ax.bar(seconds, [row["requests"] for row in per_second], color="#c9d9f2", label="streams")
    ax.set_xlabel("second of the run")
    ax.set_ylabel("streams per second")
    counts = ax.twinx()  # retries and failures are a few per second: their own scale
    counts.plot(
        seconds,
        [row["with_retries"] for row in per_second],
        "o-",
        color="#e08a1e",
        label="streams with retries",
    )
    counts.plot(
        seconds, [row["failures"] for row in per_second], "s-", color="#d83b3b", label="failed streams"
    )
    counts.set_ylabel("streams with retries / failed")
    counts.set_ylim(
        bottom=0, top=max([1] + [max(r["with_retries"], r["failures"]) for r in per_second]) * 1.3
    )
    handles = ax.get_legend_handles_labels()[0] + counts.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + counts.get_legend_handles_labels()[1]
    counts.legend(handles, labels, loc="upper right", fontsize=8)
    ax.set_title("Retries over time (provider_retry_count > 0)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    out_dir: Path,
    rows: Sequence[Row],
    catalogue: list[dict[str, Any]],
    load: dict[str, Any] | None,
    machine: dict[str, Any],
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    passed = bool(rows) and all(r.ok for r in rows)
    doc = {
        "passed": passed,
        "machine": machine,
        "verdicts": [asdict(r) for r in rows],
        "catalogue": catalogue,
        "load": load,
    }
    files = {"json": out_dir / "run.json"}
    files["json"].write_text(json.dumps(doc, indent=1, default=str))
    images: list[tuple[str, str]] = []
    if load is not None:
        target = next((t["limit"] for t in load.get("targets", []) if t["metric"] == "ttft_ms.p95"), None)
        files["ttft"] = plot_ttft_histogram(
            load.get("ttft_ms_samples", []), out_dir / "ttft_histogram.png", target
        )
        files["retries"] = plot_retries_over_time(
            load.get("per_second", []), out_dir / "retries_over_time.png"
        )
        images = [("TTFT histogram", files["ttft"].name), ("Retries over time", files["retries"].name)]
    files["html"] = out_dir / "index.html"
    cpu = load.get("cpu") if load is not None else None
    files["html"].write_text(_html(rows, images, machine, passed, cpu))
    return files


def cpu_html(cpu: dict[str, Any] | None) -> str:
    """The load run's CPU block: each process as % of one core and CPU ms per stream, then whether
    the machine, not the system under test, was the limit."""
    if not cpu:
        return ""
    e = html.escape

    def num(value: Any, fmt: str, unit: str = "") -> str:
        return "n/a" if value is None else f"{value:{fmt}}{unit}"

    rows = [
        (p["name"] + ("" if p.get("processes", 1) == 1 else f" ({p['processes']} processes)"), p)
        for p in cpu.get("processes") or ()
    ]
    if cpu.get("run_total"):
        rows.append(("all of the run", cpu["run_total"]))
    trs = "\n".join(
        f"<tr><td>{e(name)}</td><td>{num(p['pct_of_core'], '.1f', ' %')}</td>"
        f"<td>{num(p['ms_per_stream'], '.2f')}</td></tr>"
        for name, p in rows
    )
    if cpu.get("machine_busy_pct") is not None:
        trs += f"\n<tr><td>whole machine</td><td>{cpu['machine_busy_pct']:.1f} %</td><td></td></tr>"
    verdict_class = "fail" if cpu.get("machine_limited") else "pass"
    return (
        f"<h2>CPU of each process</h2><p>Over the {cpu['window_s']:.1f} s of load, {cpu['streams']} streams, "
        f"{cpu['cores']} cores, load average (1 min) {num(cpu.get('load_avg_1m'), '.2f')}.</p>\n"
        "<table><tr><th>process</th><th>% of one core</th><th>CPU ms / stream</th></tr>\n"
        f"{trs}\n</table>\n<p class={verdict_class}><b>{e(cpu['verdict'])}</b></p>"
    )


def _html(
    rows: Sequence[Row],
    images: list[tuple[str, str]],
    machine: dict[str, Any],
    passed: bool,
    cpu: dict[str, Any] | None = None,
) -> str:
    e = html.escape
    trs = ""
    for section in dict.fromkeys(r.section for r in rows):
        names = COLUMNS.get(section, ("check", "expected", "got"))
        trs += f"<tr><th>verdict</th><th>section</th>{''.join(f'<th>{e(n)}</th>' for n in names)}</tr>\n"
        trs += "\n".join(
            f"<tr class={'pass' if r.ok else 'fail'}><td>{'PASS' if r.ok else 'FAIL'}</td><td>{e(r.section)}</td>"
            f"<td>{e(r.name)}</td><td>{e(r.expected)}</td><td>{e(r.got)}</td></tr>"
            for r in rows
            if r.section == section
        )
        trs += "\n"
    imgs = "\n".join(f"<h2>{e(title)}</h2><img src='{e(src)}' alt='{e(title)}'>" for title, src in images)
    where = ", ".join(f"{k}: {v}" for k, v in machine.items())
    verdict = "PASS" if passed else "FAIL"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>harness run: {verdict}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}td{{max-width:40em}}.pass td:first-child{{color:#1a7f37}}
.fail td:first-child{{color:#cf222e;font-weight:bold}}p.fail{{color:#cf222e}}</style></head>
<body><h1>harness run: {verdict}</h1><p>{e(where)}</p>
<table>
{trs}
</table>
{cpu_html(cpu)}
{imgs}
</body></html>
"""

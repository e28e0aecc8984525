"""The benchmark report: the machine it ran on, and the three figures against DESIGN.md's targets."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

import aiohttp

# DESIGN.md section 8
OVERHEAD_P50_MS = 2.0
OVERHEAD_P99_MS = 10.0
THROUGHPUT_RATIO = 0.8  # within 20 % of the bare handler
FIDELITY_P99_MS = 2.0


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "aiohttp": aiohttp.__version__,
        "load average (1 min) at start": round(os.getloadavg()[0], 2),
    }


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    """Target met (True), missed (False), or not measured (None), per figure."""

    def below(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    o, t, f = results.get("overhead"), results.get("throughput"), results.get("fidelity")
    return {
        "overhead_p50": below(o["overhead_ttft_p50"], OVERHEAD_P50_MS) if o else None,
        "overhead_p99": below(o["overhead_ttft_p99"], OVERHEAD_P99_MS) if o else None,
        "throughput": None if not t or t["ratio_streams"] is None else t["ratio_streams"] >= THROUGHPUT_RATIO,
        "fidelity_p99": below(f["abs_error_p99"], FIDELITY_P99_MS) if f else None,
        "fidelity_server_p99": below(f.get("server_abs_error_p99"), FIDELITY_P99_MS) if f else None,
    }


def _v(ok: bool | None) -> str:
    return {True: "met", False: "missed", None: "not measured"}[ok]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The three ratios, one line each (what ``make bench`` prints)."""
    v = verdicts(results)
    lines = []
    if o := results.get("overhead"):
        lines.append(
            f"gateway overhead on TTFT at {o['concurrency']} streams: p50 {_ms(o['overhead_ttft_p50'])}, "
            f"p99 {_ms(o['overhead_ttft_p99'])} (target < {OVERHEAD_P50_MS:g} / < {OVERHEAD_P99_MS:g} ms: "
            f"{_v(v['overhead_p50'])} / {_v(v['overhead_p99'])})"
        )
    if t := results.get("throughput"):
        lines.append(
            f"mock throughput vs bare aiohttp SSE: {t['ratio_streams']} x streams/s, {t['ratio_chunks']} x "
            f"chunks/s (target >= {THROUGHPUT_RATIO:g}: {_v(v['throughput'])})"
        )
    if f := results.get("fidelity"):
        lines.append(
            f"timing fidelity at {f['concurrency']} streams: TTFT error p50 {_ms(f['error_p50'])}, "
            f"p99 {_ms(f['error_p99'])} (target |error| p99 < {FIDELITY_P99_MS:g} ms: {_v(v['fidelity_p99'])}); "
            f"as the mock emits it: p50 {_ms(f.get('server_error_p50'))}, p99 {_ms(f.get('server_error_p99'))} "
            f"({_v(v['fidelity_server_p99'])})"
        )
    return lines


def render_markdown(results: dict[str, Any], machine: dict[str, Any], elapsed_s: float) -> str:
    v = verdicts(results)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m harness.bench`) on {when}, in one run of {elapsed_s:.0f} s. "
        "Each figure compares two sides measured in the same run, rounds alternating, clients on "
        "aiohttp over real loopback sockets; the servers run in their own processes. Other work on "
        "the machine shows in every figure: the load average says how busy it was.",
        "",
        "Machine: " + ", ".join(f"{k} {v_}" for k, v_ in machine.items()) + ".",
        "",
        "| what | measured | target (DESIGN.md section 8) | verdict |",
        "|---|---|---|---|",
    ]
    o, t, f = results.get("overhead"), results.get("throughput"), results.get("fidelity")
    if o:
        out.append(
            f"| gateway overhead on TTFT, {o['concurrency']} concurrent streams | p50 "
            f"{_ms(o['overhead_ttft_p50'])}, p99 {_ms(o['overhead_ttft_p99'])} | p50 < {OVERHEAD_P50_MS:g} ms, "
            f"p99 < {OVERHEAD_P99_MS:g} ms | {_v(v['overhead_p50'])} / {_v(v['overhead_p99'])} |"
        )
    if t:
        out.append(
            f"| mock throughput / bare aiohttp SSE handler, zero-delay chat streams | {t['ratio_streams']} x "
            f"streams/s, {t['ratio_chunks']} x chunks/s | >= {THROUGHPUT_RATIO:g} x | {_v(v['throughput'])} |"
        )
    if f:
        out.append(
            f"| timing fidelity: client TTFT - scenario TTFT, {f['concurrency']} concurrent streams | p50 "
            f"{_ms(f['error_p50'])}, p99 {_ms(f['error_p99'])} | abs. error p99 < {FIDELITY_P99_MS:g} ms | "
            f"{_v(v['fidelity_p99'])} |"
        )
        out.append(
            f"| timing fidelity as the mock emits it (journal: first content - scenario TTFT), same streams "
            f"| p50 {_ms(f.get('server_error_p50'))}, p99 {_ms(f.get('server_error_p99'))} | abs. error p99 < "
            f"{FIDELITY_P99_MS:g} ms | {_v(v['fidelity_server_p99'])} |"
        )
    if o:
        out += [
            "",
            "## Gateway overhead",
            "",
            f"Scenario `{o['scenario']}`; {o['concurrency']} concurrent clients, each streaming back to back; "
            "the same mock is called directly and through the gateway (`POST /api/v1/chat`).",
            "",
            "| path | streams | failures | TTFT p50 | TTFT p99 | total p50 | total p99 |",
            "|---|---|---|---|---|---|---|",
        ]
        for side in ("direct", "gateway"):
            s = o[side]
            out.append(
                f"| {side} | {s['streams']} | {s['failures']} | {_ms(s['ttft_p50'])} | {_ms(s['ttft_p99'])} | "
                f"{_ms(s['total_p50'])} | {_ms(s['total_p99'])} |"
            )
        out.append(
            f"| gateway - direct | | | {_ms(o['overhead_ttft_p50'])} | {_ms(o['overhead_ttft_p99'])} | "
            f"{_ms(o['overhead_total_p50'])} | {_ms(o['overhead_total_p99'])} |"
        )
    if t:
        out += [
            "",
            "## Mock throughput",
            "",
            f"{t['concurrency']} concurrent clients for {t['seconds_per_round']:g} s per round, "
            f"{t['rounds']} rounds per side, best round kept; the baseline is the bare aiohttp handler in "
            "`harness/bench/bare_sse.py` sending the same frames with no validation, scenarios or journal.",
            "",
            "| server | streams/s | chunks/s |",
            "|---|---|---|",
            f"| mock | {t['mock_streams_per_s']} | {t['mock_chunks_per_s']} |",
            f"| bare aiohttp SSE | {t['bare_streams_per_s']} | {t['bare_chunks_per_s']} |",
            f"| ratio | {t['ratio_streams']} | {t['ratio_chunks']} |",
        ]
    if f:
        out += [
            "",
            "## Timing fidelity",
            "",
            f"Scenario `{f['scenario']}` sets TTFT {f['scenario_ttft_ms']:g} ms; {f['concurrency']} concurrent "
            f"clients; {f['streams']} streams measured ({f['failures']} failed). The error includes the "
            "client's own scheduling delay on a shared machine.",
            "",
            "| measured by | TTFT p50 | error p50 | error p99 | abs. error p99 |",
            "|---|---|---|---|---|",
            f"| the client | {_ms(f['measured_p50'])} | {_ms(f['error_p50'])} | {_ms(f['error_p99'])} | "
            f"{_ms(f['abs_error_p99'])} |",
            f"| the mock (journal) | | {_ms(f.get('server_error_p50'))} | {_ms(f.get('server_error_p99'))} | "
            f"{_ms(f.get('server_abs_error_p99'))} |",
            "",
            "The mock schedules the first event from the request's arrival and every later one from the "
            "previous write, so the scenario's timing is what leaves the server; the difference between "
            "the two rows is the measuring client's own delay, which grows with how busy the two cores are.",
        ]
    return "\n".join(out) + "\n"

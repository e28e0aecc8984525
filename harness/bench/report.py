"""The benchmark report: the machine it ran on, and the four figures against DESIGN.md's targets."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

import aiohttp

from .held_streams import ON_TIME_FACTOR

# DESIGN.md section 8
OVERHEAD_P50_MS = 2.0
OVERHEAD_P99_MS = 10.0
THROUGHPUT_RATIO = 0.8  # within 20 % of the bare handler
FIDELITY_P99_MS = 2.0
HELD_STREAMS = 500  # concurrent SSE streams held by the gateway, none dropped, heartbeats on time


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
    h = results.get("held")
    return {
        "overhead_p50": below(o["overhead_ttft_p50"], OVERHEAD_P50_MS) if o else None,
        "overhead_p99": below(o["overhead_ttft_p99"], OVERHEAD_P99_MS) if o else None,
        "throughput": None if not t or t["ratio_streams"] is None else t["ratio_streams"] >= THROUGHPUT_RATIO,
        "fidelity_p99": below(f["abs_error_p99"], FIDELITY_P99_MS) if f else None,
        "fidelity_server_p99": below(f.get("server_abs_error_p99"), FIDELITY_P99_MS) if f else None,
        "held_count": h["peak_open"] >= HELD_STREAMS if h else None,
        "held_none_dropped": h["completed"] == h["requested"] if h else None,
        "held_heartbeats": heartbeats_on_time(h) if h else None,
    }


def heartbeats_on_time(h: dict[str, Any]) -> bool:
    """Every opened stream had a heartbeat before its first token, and no client ever waited
    longer than the on-time limit between two signs of life before that token."""
    return h["opened"] > 0 and h["late_streams"] == 0 and h["streams_without_heartbeat_before_token"] == 0


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
    if h := results.get("held"):
        lines.append(
            f"held streams through the gateway: {h['peak_open']} open at once of {h['requested']} sent, "
            f"{h['completed']} ended with done, {h['dropped'] + h['not_opened']} dropped; heartbeat gap p99 "
            f"{_ms(h['gap_p99'])}, max {_ms(h['gap_max'])} at a {h['interval_ms']:g} ms interval "
            f"(target >= {HELD_STREAMS}, none dropped, on time: {_v(v['held_count'])} / "
            f"{_v(v['held_none_dropped'])} / {_v(v['held_heartbeats'])})"
        )
    return lines


def render_markdown(results: dict[str, Any], machine: dict[str, Any], elapsed_s: float) -> str:
    v = verdicts(results)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m harness.bench`) on {when}, in one run of {elapsed_s:.0f} s. "
        "The first three figures each compare two sides measured in the same run, rounds alternating; "
        "the held-streams figure stands against its target alone. Clients are on aiohttp over real "
        "loopback sockets; the servers run in their own processes. Other work on the machine shows in "
        "every figure: the load average says how busy it was.",
        "",
        "Machine: " + ", ".join(f"{k} {v_}" for k, v_ in machine.items()) + ".",
        "",
        "| what | measured | target (DESIGN.md section 8) | verdict |",
        "|---|---|---|---|",
    ]
    o, t, f = results.get("overhead"), results.get("throughput"), results.get("fidelity")
    h = results.get("held")
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
    if h:
        out.append(
            f"| concurrent SSE streams held by the gateway, upstream silent {h['scenario_ttft_ms']:g} ms, "
            f"heartbeat every {h['interval_ms']:g} ms | {h['peak_open']} open at once, "
            f"{h['dropped'] + h['not_opened']} dropped, heartbeat gap p99 {_ms(h['gap_p99'])}, max "
            f"{_ms(h['gap_max'])} | >= {HELD_STREAMS}, none dropped, no gap > {ON_TIME_FACTOR:g} x interval | "
            f"{_v(v['held_count'])} / {_v(v['held_none_dropped'])} / {_v(v['held_heartbeats'])} |"
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
    if h:
        out += held_section(h)
    return "\n".join(out) + "\n"


def held_section(h: dict[str, Any]) -> list[str]:
    reasons = ", ".join(f"{k} {n}" for k, n in sorted(h["failure_reasons"].items())) or "none"
    return [
        "",
        "## Held streams",
        "",
        f"Scenario `{h['scenario']}`: the upstream stays silent {h['scenario_ttft_ms']:g} ms, then sends a few "
        f"tokens. The gateway runs with `OPENAI_SSE_HEARTBEAT_MS={h['interval_ms']:g}`; {h['requested']} "
        "client streams (`POST /api/v1/chat`, aiohttp, read line by line) are sent at once and each is read "
        f"to its end. Open-file limit (soft) for the bench and the servers it starts: {h['open_file_limit']}.",
        "",
        "| streams | count |",
        "|---|---|",
        f"| sent | {h['requested']} |",
        f"| opened (200 and the connected comment) | {h['opened']} |",
        f"| open at the same instant (peak) | {h['peak_open']} |",
        f"| ended with `done` | {h['completed']} |",
        f"| dropped after opening | {h['dropped']} |",
        f"| never opened | {h['not_opened']} |",
        f"| failures by reason | {reasons} |",
        f"| time from the first request to the last connected comment | {_ms(h['open_spread_ms'])} |",
        "",
        f"Heartbeats, against the {h['interval_ms']:g} ms interval (on time: no silence longer than "
        f"{_ms(h['on_time_limit_ms'])}):",
        "",
        "| figure | measured |",
        "|---|---|",
        f"| heartbeats received | {h['heartbeats']} |",
        f"| gap between heartbeats as the client saw it (connected → first, then each next): p50 / p99 / max "
        f"| {_ms(h['gap_p50'])} / {_ms(h['gap_p99'])} / {_ms(h['gap_max'])} |",
        f"| of which connected comment → first heartbeat: p50 / max | {_ms(h['first_gap_p50'])} / "
        f"{_ms(h['first_gap_max'])} |",
        f"| gap by the gateway's own stamps in the heartbeats: p99 / max | {_ms(h['stamp_gap_p99'])} / "
        f"{_ms(h['stamp_gap_max'])} |",
        f"| longest silence before the first token, per stream: p99 / max | "
        f"{_ms(h['silence_before_token_p99'])} / {_ms(h['silence_before_token_max'])} |",
        f"| heartbeats before the first token: fewest on one stream (due: {h['heartbeats_before_token_expected']}) "
        f"| {h['heartbeats_before_token_min']} |",
        f"| streams with no heartbeat before their first token | {h['streams_without_heartbeat_before_token']} |",
        f"| streams with a late heartbeat | {h['late_streams']} |",
        f"| client TTFT p50 (the silence plus the gateway's path) | {_ms(h['ttft_p50'])} |",
        f"| the measuring client's own event-loop lag: p99 / max | {_ms(h.get('client_lag_p99'))} / "
        f"{_ms(h.get('client_lag_max'))} |",
        "",
        "The client-side gaps include the measuring client's own delay in reading 500 streams on the same "
        "cores as the gateway and the mock (its loop lag above); the gateway's stamps say when each "
        "heartbeat was written, but not the first one's distance from the connected comment.",
    ]

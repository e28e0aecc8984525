"""The benchmark report: the machine it ran on, and every figure against its target (docs/targets.md)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

import aiohttp

from harness.load.proc_cpu import BUSY_SHARE

from .held_streams import ON_TIME_FACTOR

# docs/targets.md
OVERHEAD_P50_MS = 2.0
OVERHEAD_P99_MS = 10.0
GATEWAY_CPU_VS_RELAY = 1.5  # the gateway's CPU per stream, at most this many times the bare relay's
LITELLM_FACTOR = 5.0  # at least this many times less CPU per stream, and this much lower p99 overhead
THROUGHPUT_RATIO = 0.8  # within 20 % of the bare handler
MOCK_CPU_MS = 0.5  # the mock's CPU per zero-delay chat stream
WORKERS_RATIO = 1.5  # streams/s with --workers 2 over --workers 1 ("scales with cores", on 2 cores)
FIDELITY_P99_MS = 2.0
HELD_STREAMS = 500  # concurrent SSE streams held by the gateway, none dropped, heartbeats on time

EXTRA_TITLES = {
    "litellm": "LiteLLM proxy side by side",
    "aimock": "aimock side by side",
    "workers": "mockopenai serve --workers 2 vs --workers 1",
}


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "aiohttp": aiohttp.__version__,
        "load average (1 min) at start": round(os.getloadavg()[0], 2),
    }


def _path(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    o = results.get("overhead")
    return (o.get("paths") or {}).get(name) if o else None


def _server(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    t = results.get("throughput")
    return (t.get("servers") or {}).get(name) if t else None


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else round(a / b, 2)


def derived(results: dict[str, Any]) -> dict[str, float | None]:
    """The ratios the targets are about, from the measured figures."""
    g, r, lt = _path(results, "gateway"), _path(results, "relay"), _path(results, "litellm")
    mock, w2, am = _server(results, "mock"), _server(results, "mock-workers-2"), _server(results, "aimock")

    def get(d: dict[str, Any] | None, key: str) -> float | None:
        return None if d is None else d.get(key)

    return {
        "gateway_cpu_vs_relay": ratio(get(g, "cpu_ms_per_stream"), get(r, "cpu_ms_per_stream")),
        "litellm_cpu_vs_gateway": ratio(get(lt, "cpu_ms_per_stream"), get(g, "cpu_ms_per_stream")),
        # a gateway overhead at or below zero is below what the run can resolve: count it as 0.01 ms
        "litellm_p99_vs_gateway": None
        if get(lt, "overhead_ttft_p99") is None or get(g, "overhead_ttft_p99") is None
        else ratio(get(lt, "overhead_ttft_p99"), max(get(g, "overhead_ttft_p99") or 0.0, 0.01)),
        "workers_streams_ratio": ratio(get(w2, "streams_per_s"), get(mock, "streams_per_s")),
        "aimock_streams_vs_mock": ratio(get(am, "streams_per_s"), get(mock, "streams_per_s")),
        "aimock_cpu_vs_mock": ratio(get(am, "cpu_ms_per_stream"), get(mock, "cpu_ms_per_stream")),
    }


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    """Target met (True), missed (False), or not measured (None), per figure."""

    def below(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    def at_most(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    def at_least(value: float | None, limit: float) -> bool | None:
        return None if value is None else value >= limit

    t, f, h = results.get("throughput"), results.get("fidelity"), results.get("held")
    g, mock = _path(results, "gateway") or {}, _server(results, "mock") or {}
    d = derived(results)
    return {
        "overhead_p50": below(g.get("overhead_ttft_p50"), OVERHEAD_P50_MS),
        "overhead_p99": below(g.get("overhead_ttft_p99"), OVERHEAD_P99_MS),
        "gateway_cpu": at_most(d["gateway_cpu_vs_relay"], GATEWAY_CPU_VS_RELAY),
        "litellm_cpu": at_least(d["litellm_cpu_vs_gateway"], LITELLM_FACTOR),
        "litellm_p99": at_least(d["litellm_p99_vs_gateway"], LITELLM_FACTOR),
        "throughput": at_least(t.get("ratio_streams") if t else None, THROUGHPUT_RATIO),
        "mock_cpu": at_most(mock.get("cpu_ms_per_stream"), MOCK_CPU_MS),
        "workers": None
        if workers_machine_limited(results)
        else at_least(d["workers_streams_ratio"], WORKERS_RATIO),
        "fidelity_p99": below(f["abs_error_p99"], FIDELITY_P99_MS) if f else None,
        "fidelity_server_p99": below(f.get("server_abs_error_p99"), FIDELITY_P99_MS) if f else None,
        "held_count": h["peak_open"] >= HELD_STREAMS if h else None,
        "held_none_dropped": h["completed"] == h["requested"] if h else None,
        "held_heartbeats": heartbeats_on_time(h) if h else None,
    }


def workers_machine_limited(results: dict[str, Any]) -> str | None:
    """Why ``--workers 2`` cannot show scaling on this machine, or None when it can: when the
    one-worker rounds (server and measuring client together) already kept nearly every core busy,
    a second worker has no core to run on and the ratio measures the machine."""
    t, mock = results.get("throughput"), _server(results, "mock")
    if not t or not mock or _server(results, "mock-workers-2") is None:
        return None
    cores, busy = t.get("cores") or os.cpu_count() or 1, mock.get("machine_busy_pct")
    if busy is None or busy < BUSY_SHARE * 100.0 * cores:
        return None
    return f"the 1-worker rounds already kept {busy / 100.0:.2f} of {cores} cores busy"


def heartbeats_on_time(h: dict[str, Any]) -> bool:
    """Every opened stream had a heartbeat before its first token, and no client ever waited
    longer than the on-time limit between two signs of life before that token."""
    return h["opened"] > 0 and h["late_streams"] == 0 and h["streams_without_heartbeat_before_token"] == 0


def _v(ok: bool | None) -> str:
    return {True: "met", False: "missed", None: "not measured"}[ok]


def _busy(results: dict[str, Any], *paths: str) -> str:
    """A note for a latency verdict whose rounds ran on a saturated machine: there, queueing for a
    core, not the path, sets the tail."""
    busy = [b for name in paths if (b := (_path(results, name) or {}).get("machine_busy_pct")) is not None]
    cores = os.cpu_count() or 1
    if not busy or max(busy) < BUSY_SHARE * 100.0 * cores:
        return ""
    return f" (machine-limited: {max(busy) / 100.0:.2f} of {cores} cores busy)"


def _workers_verdict(results: dict[str, Any], v: dict[str, bool | None]) -> str:
    limited = workers_machine_limited(results)
    return f"machine-limited: {limited}" if limited else _v(v["workers"])


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} %"


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per figure against its target, and one per comparison skipped (what ``make
    bench`` prints)."""
    v, d = verdicts(results), derived(results)
    lines = []
    g, r, lt = _path(results, "gateway"), _path(results, "relay"), _path(results, "litellm")
    if (o := results.get("overhead")) and g:
        relay = (
            f"; bare relay p50 {_ms(r['overhead_ttft_p50'])}, p99 {_ms(r['overhead_ttft_p99'])}" if r else ""
        )
        lines.append(
            f"gateway overhead on TTFT at {o['concurrency']} streams: p50 {_ms(g['overhead_ttft_p50'])}, "
            f"p99 {_ms(g['overhead_ttft_p99'])} (target < {OVERHEAD_P50_MS:g} / < {OVERHEAD_P99_MS:g} ms: "
            f"{_v(v['overhead_p50'])} / {_v(v['overhead_p99'])}{_busy(results, 'direct', 'gateway')}){relay}"
        )
    if g and r:
        lines.append(
            f"gateway CPU per stream: {_ms(g['cpu_ms_per_stream'])} vs bare aiohttp relay "
            f"{_ms(r['cpu_ms_per_stream'])}: {_x(d['gateway_cpu_vs_relay'])} (target <= "
            f"{GATEWAY_CPU_VS_RELAY:g} x: {_v(v['gateway_cpu'])})"
        )
    if g and lt:
        lines.append(
            f"LiteLLM proxy vs gateway: CPU per stream {_ms(lt['cpu_ms_per_stream'])} vs "
            f"{_ms(g['cpu_ms_per_stream'])} ({_x(d['litellm_cpu_vs_gateway'])}), TTFT p99 overhead "
            f"{_ms(lt['overhead_ttft_p99'])} vs {_ms(g['overhead_ttft_p99'])} "
            f"({_x(d['litellm_p99_vs_gateway'])}) (target >= {LITELLM_FACTOR:g} x each: "
            f"{_v(v['litellm_cpu'])} / {_v(v['litellm_p99'])})"
        )
    if t := results.get("throughput"):
        mock = _server(results, "mock") or {}
        lines.append(
            f"mock throughput vs bare aiohttp SSE: {t['ratio_streams']} x streams/s, {t['ratio_chunks']} x "
            f"chunks/s (target >= {THROUGHPUT_RATIO:g}: {_v(v['throughput'])}); mock CPU per zero-delay "
            f"stream {_ms(mock.get('cpu_ms_per_stream'))} (target <= {MOCK_CPU_MS:g} ms: {_v(v['mock_cpu'])})"
        )
        if am := _server(results, "aimock"):
            lines.append(
                f"aimock: {am['streams_per_s']} streams/s, CPU per stream {_ms(am['cpu_ms_per_stream'])}; "
                f"the mock {mock.get('streams_per_s')} streams/s, {_ms(mock.get('cpu_ms_per_stream'))} "
                f"(aimock / mock: {_x(d['aimock_streams_vs_mock'])} streams/s, "
                f"{_x(d['aimock_cpu_vs_mock'])} CPU per stream)"
            )
        if w2 := _server(results, "mock-workers-2"):
            lines.append(
                f"mock --workers 2 vs --workers 1: {w2['streams_per_s']} vs {mock.get('streams_per_s')} "
                f"streams/s, {_x(d['workers_streams_ratio'])} (target >= {WORKERS_RATIO:g} x: "
                f"{_workers_verdict(results, v)})"
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
    for name, reason in (results.get("skipped") or {}).items():
        lines.append(f"{EXTRA_TITLES.get(name, name)}: skipped: {reason}")
    return lines


def render_markdown(results: dict[str, Any], machine: dict[str, Any], elapsed_s: float) -> str:
    v, d = verdicts(results), derived(results)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m harness.bench`) on {when}, in one run of {elapsed_s:.0f} s. "
        "Every comparison is measured side by side in the same run, rounds alternating the sides; "
        "the held-streams figure stands against its target alone. Clients are on aiohttp over real "
        "loopback sockets; the servers run in their own processes. CPU per stream is a server "
        "process's CPU time (user + system, from `/proc/PID/stat`) over a closed-loop round, divided "
        "by the streams it completed: steadier than wall time on a shared machine. Other work on the "
        "machine shows in every figure: the load average says how busy it was.",
        *(
            [
                "",
                "A `--quick` smoke run: a few streams of each kind, to show the machinery works; not figures to quote.",
            ]
            if results.get("quick")
            else []
        ),
        "",
        "Machine: "
        + ", ".join(f"{k} {v_}" for k, v_ in machine.items())
        + f", load average (1 min) at the end {os.getloadavg()[0]:.2f}.",
        "",
        "| what | measured | target ([docs/targets.md](docs/targets.md)) | verdict |",
        "|---|---|---|---|",
    ]
    o, t, f = results.get("overhead"), results.get("throughput"), results.get("fidelity")
    h, skipped = results.get("held"), results.get("skipped") or {}
    g, r, lt = _path(results, "gateway"), _path(results, "relay"), _path(results, "litellm")
    mock, w2 = _server(results, "mock") or {}, _server(results, "mock-workers-2")
    if o and g:
        out.append(
            f"| gateway overhead on TTFT, {o['concurrency']} concurrent streams | p50 "
            f"{_ms(g['overhead_ttft_p50'])}, p99 {_ms(g['overhead_ttft_p99'])} | p50 < {OVERHEAD_P50_MS:g} ms, "
            f"p99 < {OVERHEAD_P99_MS:g} ms | {_v(v['overhead_p50'])} / {_v(v['overhead_p99'])}"
            f"{_busy(results, 'direct', 'gateway')} |"
        )
    if g and r:
        out.append(
            f"| gateway CPU per stream / bare aiohttp relay, same run | {_ms(g['cpu_ms_per_stream'])} / "
            f"{_ms(r['cpu_ms_per_stream'])} = {_x(d['gateway_cpu_vs_relay'])} | <= {GATEWAY_CPU_VS_RELAY:g} x | "
            f"{_v(v['gateway_cpu'])} |"
        )
    if g and lt:
        out.append(
            f"| LiteLLM proxy (1 worker) / gateway: CPU per stream, TTFT p99 overhead | "
            f"{_x(d['litellm_cpu_vs_gateway'])} ({_ms(lt['cpu_ms_per_stream'])} / {_ms(g['cpu_ms_per_stream'])}), "
            f"{_x(d['litellm_p99_vs_gateway'])} ({_ms(lt['overhead_ttft_p99'])} / {_ms(g['overhead_ttft_p99'])}) "
            f"| >= {LITELLM_FACTOR:g} x, "
            f">= {LITELLM_FACTOR:g} x | {_v(v['litellm_cpu'])} / {_v(v['litellm_p99'])} |"
        )
    elif "litellm" in skipped:
        out.append(
            f"| LiteLLM proxy (1 worker) / gateway: CPU per stream, TTFT p99 overhead | skipped: "
            f"{skipped['litellm']} | >= {LITELLM_FACTOR:g} x, >= {LITELLM_FACTOR:g} x | not measured |"
        )
    if t:
        out.append(
            f"| mock throughput / bare aiohttp SSE handler, zero-delay chat streams | {t['ratio_streams']} x "
            f"streams/s, {t['ratio_chunks']} x chunks/s | >= {THROUGHPUT_RATIO:g} x | {_v(v['throughput'])} |"
        )
        out.append(
            f"| mock CPU per zero-delay chat stream | {_ms(mock.get('cpu_ms_per_stream'))} | <= "
            f"{MOCK_CPU_MS:g} ms | {_v(v['mock_cpu'])} |"
        )
        if w2:
            out.append(
                f"| mock streams/s, `--workers 2` / `--workers 1` | {_x(d['workers_streams_ratio'])} | >= "
                f"{WORKERS_RATIO:g} x | {_workers_verdict(results, v)} |"
            )
        elif "workers" in skipped:
            out.append(
                f"| mock streams/s, `--workers 2` / `--workers 1` | skipped: {skipped['workers']} | >= "
                f"{WORKERS_RATIO:g} x | not measured |"
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
    if skipped:
        out += ["", "Skipped in this run:", ""]
        out += [f"- {EXTRA_TITLES.get(name, name)}: {reason}." for name, reason in skipped.items()]
    if o:
        out += overhead_section(o, d)
    if t:
        out += throughput_section(t, d, skipped)
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
            _load_avg(f)
            + "The mock schedules the first event from the request's arrival and every later one from the "
            "previous write, so the scenario's timing is what leaves the server; the difference between "
            "the two rows is the measuring client's own delay, which grows with how busy the two cores are.",
        ]
    if h:
        out += held_section(h)
    return "\n".join(out) + "\n"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _load_avg(figures: dict[str, Any]) -> str:
    value = figures.get("load_avg_1m")
    return "" if value is None else f"Load average (1 min) as this benchmark ended: {value:.2f}. "


PATH_TITLES = {
    "direct": "direct (the mock)",
    "gateway": "reference gateway",
    "relay": "bare aiohttp relay",
    "litellm": "LiteLLM proxy (1 worker)",
}


def overhead_section(o: dict[str, Any], d: dict[str, float | None]) -> list[str]:
    paths = o.get("paths") or {}
    out = [
        "",
        "## Gateway overhead and CPU per stream",
        "",
        f"Scenario `{o['scenario']}` (TTFT 150 ms, then 20 tokens 100 ms apart"
        + ("" if o.get("time_scale", 1.0) == 1.0 else f"; every wait x {o['time_scale']:g} in this run")
        + f"); {o['concurrency']} "
        f"concurrent clients, each streaming back to back, {_n(o['rounds'], 'round')} alternating the paths. "
        "The same mock is called directly, through the reference gateway (`POST /api/v1/chat`), through "
        "the bare aiohttp relay of `harness/bench/bare_relay.py` (the same endpoint and events with no "
        "auth, validation, retries, heartbeats or telemetry: the floor of a Python relay) and, when "
        "installed, through LiteLLM proxy (`/v1/chat/completions`, 1 worker, no database). Overhead is "
        "the path's figure minus the direct one. CPU per stream is the path's own server process; the "
        "mock's and the measuring client's are beside it, with each as % of one core over its rounds, "
        "and how busy the whole machine was (100 % per core, other work included).",
        "",
        "| path | streams | failures | TTFT p50 | TTFT p99 | overhead p50 | overhead p99 | total p99 | "
        "CPU ms / stream | % of a core | mock CPU ms / stream | client CPU ms / stream | streams/s | "
        "machine busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in paths.items():
        out.append(
            f"| {PATH_TITLES.get(name, name)} | {s['streams']} | {s['failures']} | {_ms(s['ttft_p50'])} | "
            f"{_ms(s['ttft_p99'])} | {_ms(s['overhead_ttft_p50'])} | {_ms(s['overhead_ttft_p99'])} | "
            f"{_ms(s['total_p99'])} | {_ms(s['cpu_ms_per_stream'])} | {_pct(s['pct_of_core'])} | "
            f"{_ms(s['mock_cpu_ms_per_stream'])} | {_ms(s['client_cpu_ms_per_stream'])} | "
            f"{s['streams_per_s']} | {_pct(s.get('machine_busy_pct'))} |"
        )
    out += [
        "",
        _load_avg(o)
        + f"Gateway / relay CPU per stream: {_x(d['gateway_cpu_vs_relay'])}. "
        + (
            f"LiteLLM / gateway: {_x(d['litellm_cpu_vs_gateway'])} CPU per stream, "
            f"{_x(d['litellm_p99_vs_gateway'])} TTFT p99 overhead"
            + f" (LiteLLM served {paths['litellm']['streams_per_s']} streams/s, the gateway "
            f"{paths.get('gateway', {}).get('streams_per_s')}, to the same clients"
            + (
                f"; it ran {paths['litellm']['per_worker']} stream per client per round, or its rounds would "
                "have taken minutes)."
                if paths["litellm"]["per_worker"] != paths.get("gateway", {}).get("per_worker")
                else ")."
            )
            if "litellm" in paths
            else ""
        ),
    ]
    return out


SERVER_TITLES = {
    "mock": "mock (`mockopenai serve`, 1 worker)",
    "bare": "bare aiohttp SSE handler",
    "aimock": "aimock (Node, `llmock` CLI)",
    "mock-workers-2": "mock, `--workers 2`",
}


def throughput_section(t: dict[str, Any], d: dict[str, float | None], skipped: dict[str, str]) -> list[str]:
    out = [
        "",
        "## Mock throughput and CPU per stream",
        "",
        f"Zero-delay chat streams (a role chunk, 20 content chunks, a finish chunk, `[DONE]`); "
        f"{t['concurrency']} concurrent clients for {t['seconds_per_round']:g} s per round, "
        f"{_n(t['rounds'], 'round')} per server alternating, best round's streams/s kept; CPU per stream over "
        "all rounds. "
        "The baseline is the bare aiohttp handler in `harness/bench/bare_sse.py` sending the same frames "
        "with no validation, scenarios or journal; aimock serves one catch-all fixture streamed in as "
        "many chunks. The measuring client (one Python process) shares the cores: its own CPU is beside "
        "each row, and where it nears a full core it, not the server, sets the streams/s; the machine "
        "column is every core's busy time over the rounds (100 % per core, other work included).",
        "",
        "| server | streams/s | chunks/s | CPU ms / stream | % of a core | client CPU ms / stream | "
        "client % of a core | machine busy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in (t.get("servers") or {}).items():
        out.append(
            f"| {SERVER_TITLES.get(name, name)} | {s['streams_per_s']} | {s['chunks_per_s']} | "
            f"{_ms(s['cpu_ms_per_stream'])} | {_pct(s['pct_of_core'])} | {_ms(s['client_cpu_ms_per_stream'])} | "
            f"{_pct(s['client_pct_of_core'])} | {_pct(s.get('machine_busy_pct'))} |"
        )
    out += [
        "",
        _load_avg(t)
        + f"Mock / bare: {t['ratio_streams']} x streams/s, {t['ratio_chunks']} x chunks/s."
        + (
            f" aimock / mock: {_x(d['aimock_streams_vs_mock'])} streams/s, {_x(d['aimock_cpu_vs_mock'])} "
            "CPU per stream."
            if d["aimock_streams_vs_mock"] is not None
            else f" aimock: skipped ({skipped['aimock']})."
            if "aimock" in skipped
            else ""
        )
        + (
            f" `--workers 2` / `--workers 1`: {_x(d['workers_streams_ratio'])} streams/s."
            if d["workers_streams_ratio"] is not None
            else f" `--workers 2`: skipped ({skipped['workers']})."
            if "workers" in skipped
            else ""
        ),
    ]
    return out


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
        _load_avg(h)
        + "The client-side gaps include the measuring client's own delay in reading 500 streams on the same "
        "cores as the gateway and the mock (its loop lag above); the gateway's stamps say when each "
        "heartbeat was written, but not the first one's distance from the connected comment.",
    ]

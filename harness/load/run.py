"""One load run end to end: stack up, Locust headless, samples read back, targets checked.

:func:`run_load` is what ``harness load`` (and the main job) call; it returns a :class:`LoadRun`
with the verdicts and the JSON document written to ``reports/load.json``: the run's settings,
target vs measured, the raw TTFT samples, per-second request / retry counts, and the CPU of each
process of the run (mock, gateway, every Locust process) over the measured window, with whether
the machine rather than the system under test was the limit (:mod:`.cpu_report`).
"""

from __future__ import annotations

import json
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.scenario.loader import CATALOGUE

from .cpu_report import cpu_from_sampler
from .locust_run import GATEWAY_USERS, LocustPlan, run_locust
from .memory import read_memory_figures
from .proc_cpu import CpuSampler
from .services import Service, Stack
from .targets import TargetSet, Verdict, evaluate, load_targets, verdict_table

# inside the package, so a plain `pip install` runs as a checkout does (loadtests/ and scenarios/
# in a checkout are links to these folders)
LOADTESTS = Path(__file__).resolve().parents[1] / "loadtests"
DEFAULT_TARGETS = LOADTESTS / "targets.yaml"
MEMORY_TARGETS = LOADTESTS / "targets-memory.yaml"
MAIN_JOB_TARGETS = LOADTESTS / "targets-main.yaml"  # make run: TTFT p95 < 250 ms, for margin
TARGETS_BY_USER = {"gateway-memory": MEMORY_TARGETS}  # every other user: DEFAULT_TARGETS
DEFAULT_SCENARIOS = CATALOGUE


class LoadRunError(RuntimeError):
    """The run could not produce figures (a process failed, no samples were written)."""


@dataclass
class LoadSettings:
    user: str = "gateway"  # "gateway" | "gateway-memory" | "mock"
    users: int = 100
    spawn_rate: float = 50.0
    run_time: str = "15s"
    workers: int = 0
    scenario: str | None = None  # None: the targets file's scenario
    targets_path: str | None = None  # None: the user's own targets file (targets_for)
    scenario_paths: list[str] = field(default_factory=lambda: [str(DEFAULT_SCENARIOS)])
    think_time: float = 0.5
    stop_timeout: float = 5.0
    time_scale: float = 1.0
    gateway_env: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadRun:
    settings: LoadSettings
    targets: TargetSet
    verdicts: list[Verdict]
    results: dict[str, Any]
    locust_exit_code: int
    locust_summary: str = ""

    @property
    def scenario(self) -> str | None:
        s = self.settings.scenario
        return (s if s is not None else self.targets.scenario) or None

    @property
    def passed(self) -> bool:
        return all(v.ok for v in self.verdicts)

    def table(self) -> str:
        return verdict_table(self.verdicts)

    def document(self) -> dict[str, Any]:
        s = self.settings
        return {
            "passed": self.passed,
            "run": {
                "user": s.user,
                "users": s.users,
                "spawn_rate": s.spawn_rate,
                "run_time": s.run_time,
                "workers": s.workers,
                "scenario": self.scenario,
                "think_time_s": s.think_time,
                "targets": self.targets.description,
            },
            "targets": [
                {
                    "name": v.target.name,
                    "metric": v.target.metric,
                    "bound": v.target.bound,
                    "limit": v.target.limit,
                    "unit": v.target.unit,
                    "measured": v.measured,
                    "ok": v.ok,
                }
                for v in self.verdicts
            ],
            **self.results,
        }

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=1))
        return path


WARM_UP_STREAMS = 20


def targets_for(user: str) -> Path:
    """The targets file a user's run is checked against when none is named."""
    return TARGETS_BY_USER.get(user, DEFAULT_TARGETS)


def warm_up(stack: Stack, secret: str, scenario: str | None, user: str) -> None:
    """A few streams through the stack before the measured run, not counted: the targets are
    about steady state, so connections, pools and first-use imports are paid for beforehand."""
    import asyncio

    from harness.bench.stream_client import measure_stream, new_session
    from harness.bench.suites import gateway_chat, mock_chat
    from harness.gateway.auth import mint_token

    if user in GATEWAY_USERS and stack.gateway_url:
        req = gateway_chat(stack.gateway_url, mint_token(secret), None)
    else:
        req = mock_chat(stack.mock_url, scenario)

    async def go() -> None:
        async with new_session() as session:
            await asyncio.gather(*(measure_stream(session, req) for _ in range(WARM_UP_STREAMS)))

    asyncio.run(go())


def watch(sampler: CpuSampler, service: Service) -> None:
    if service.proc is not None:
        sampler.watch(service.name, service.proc.pid)


def run_load(settings: LoadSettings) -> LoadRun:
    targets = load_targets(settings.targets_path or targets_for(settings.user))
    scenario = (settings.scenario if settings.scenario is not None else targets.scenario) or None
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="harness-load-") as tmp:
        samples_path = Path(tmp) / "samples.json"
        with Stack(
            settings.scenario_paths,
            scenario,
            gateway=settings.user in GATEWAY_USERS,
            jwt_secret=secret,
            log_dir=tmp,
            time_scale=settings.time_scale,
            gateway_env=settings.gateway_env,
        ) as stack:
            options = {
                "think_time": f"{settings.think_time:g}",
                "mock_url": stack.mock_url,
            }
            if stack.gateway_url:
                options["gateway_url"] = stack.gateway_url
            if scenario:
                options["scenario"] = scenario
            plan = LocustPlan(
                user=settings.user,
                users=settings.users,
                spawn_rate=settings.spawn_rate,
                run_time=settings.run_time,
                workers=settings.workers,
                results_json=str(samples_path),
                options=options,
                env={"JWT_SECRET": secret},
                stop_timeout=settings.stop_timeout,
            )
            warm_up(stack, secret, scenario, settings.user)
            with CpuSampler() as sampler:
                for service in stack.services:
                    watch(sampler, service)
                code = run_locust(plan, log_dir=tmp, on_start=lambda service: watch(sampler, service))
        log = Path(tmp) / ("locust-master.log" if settings.workers else "locust.log")
        summary = log.read_text(errors="replace") if log.exists() else ""
        if not samples_path.exists():
            raise LoadRunError(f"Locust (exit code {code}) wrote no samples; its output:\n{summary[-3000:]}")
        results = json.loads(samples_path.read_text())
        if settings.user == "gateway-memory":  # what memory did, by the gateway's own telemetry
            results["measured"]["memory"] = read_memory_figures(Path(tmp) / "telemetry.db")
    results["measured"]["users"] = settings.users
    # CPU of each process over the measured window: from the first stream sent to the last one ended
    start, end = results.get("started_at") or 0.0, results.get("ended_at") or 0.0
    results["cpu"] = cpu_from_sampler(sampler, start, end, results["measured"]["requests"])
    return LoadRun(settings, targets, evaluate(targets, results["measured"]), results, code, summary)

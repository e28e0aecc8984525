"""Running Locust headless: one local process, or a master and N workers on 127.0.0.1.

:class:`LocustPlan` says what to run; its ``*_argv`` methods build the command lines (pure, so
tests check them); :func:`run_locust` starts the processes, waits for the run to end by itself
(``--run-time``), and stops every process it started whatever happens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.web_runner import free_port

from ..commands.locustfile import LOCUSTFILE  # in the package
from .services import HOST, Service, ServiceError, python_module
from .users import GATEWAY_USERS, USER_CLASSES  # noqa: F401 - GATEWAY_USERS: re-exported

_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in a Locust run time: ``90``, ``15s``, ``2m``, ``1m30s``, ``1h``."""
    text = str(text).strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _SPAN.findall(text)
    if not parts or _SPAN.sub("", text).strip():
        raise ValueError(f"invalid run time {text!r}: expected e.g. 15s, 2m, 1m30s")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * scale[u] for n, u in parts)


@dataclass
class LocustPlan:
    user: str  # a key of USER_CLASSES
    users: int
    spawn_rate: float
    run_time: str
    results_json: str
    workers: int = 0
    locustfile: str = str(LOCUSTFILE)
    options: dict[str, str] = field(default_factory=dict)  # the locustfile's own --options
    env: dict[str, str] = field(default_factory=dict)  # e.g. JWT_SECRET (kept off command lines)
    stop_timeout: float = 5.0  # seconds running streams get to finish once the run time is up
    master_port: int = 0

    def __post_init__(self) -> None:
        if self.user not in USER_CLASSES:
            raise ValueError(f"unknown user {self.user!r}; expected one of {', '.join(USER_CLASSES)}")
        if self.users < 1:
            raise ValueError(f"users must be >= 1, got {self.users}")
        if self.spawn_rate <= 0:
            raise ValueError(f"spawn rate must be > 0, got {self.spawn_rate}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        parse_duration(self.run_time)

    @property
    def run_seconds(self) -> float:
        return parse_duration(self.run_time)

    def _common(self) -> list[str]:
        return ["-f", self.locustfile, "--loglevel", "WARNING"]

    def local_argv(self) -> list[str]:
        return python_module("locust", *self._common(), *self._run_args(), USER_CLASSES[self.user])

    def master_argv(self) -> list[str]:
        return python_module(
            "locust",
            *self._common(),
            "--master",
            "--master-bind-host",
            HOST,
            "--master-bind-port",
            str(self.master_port),
            "--expect-workers",
            str(self.workers),
            "--expect-workers-max-wait",
            "30",
            *self._run_args(),
            USER_CLASSES[self.user],
        )

    def worker_argv(self) -> list[str]:
        return python_module(
            "locust",
            *self._common(),
            "--worker",
            "--master-host",
            HOST,
            "--master-port",
            str(self.master_port),
            USER_CLASSES[self.user],
        )

    def _run_args(self) -> list[str]:
        args = [
            "--headless",
            "--only-summary",
            "-u",
            str(self.users),
            "-r",
            f"{self.spawn_rate:g}",
            "-t",
            self.run_time,
            "--stop-timeout",
            f"{self.stop_timeout:g}",
            "--results-json",
            self.results_json,
        ]
        for name, value in self.options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        return args


def run_locust(plan: LocustPlan, log_dir: str, on_start: Callable[[Service], None] | None = None) -> int:
    """Run the plan to its end; Locust's exit code (1 when any request failed). ``on_start`` is
    told of each Locust process once it runs (the load report samples their CPU)."""
    timeout = plan.run_seconds + plan.stop_timeout + 60.0
    started_hook = on_start or (lambda service: None)
    if plan.workers == 0:
        local = Service("locust", plan.local_argv(), env=plan.env, log_dir=log_dir)
        with local:
            started_hook(local)
            return local.wait(timeout)
    if not plan.master_port:
        plan.master_port = free_port(HOST)
    master = Service("locust-master", plan.master_argv(), env=plan.env, log_dir=log_dir)
    workers = [
        Service(f"locust-worker-{i}", plan.worker_argv(), env=plan.env, log_dir=log_dir)
        for i in range(plan.workers)
    ]
    started: list[Service] = []
    try:
        started.append(master.start())
        started_hook(master)
        for worker in workers:
            started.append(worker.start())
            started_hook(worker)
        code = master.wait(timeout)
        for worker in workers:  # the master tells them to quit; give them a moment to do so
            if worker.proc is not None and worker.proc.poll() is None:
                try:
                    worker.wait(10)
                except ServiceError:
                    pass
        return code
    finally:
        for service in reversed(started):
            service.stop()

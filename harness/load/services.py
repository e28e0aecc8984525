"""Child processes of a load run: the mock, the gateway, Locust. Started, probed, always stopped.

A :class:`Service` is a command line with a readiness probe (an HTTP URL that must answer
200); :class:`Stack` starts the mock, and the gateway in front of it when asked, each on a free
127.0.0.1 port, and stops whatever it started, even when a start fails half-way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from mockserver.web_runner import free_port

HOST = "127.0.0.1"


class ServiceError(RuntimeError):
    """A child process would not start; the message carries the tail of its output."""


class Service:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        ready_url: str | None = None,
        env: dict[str, str] | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.ready_url = ready_url
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(log_dir or tempfile.gettempdir()) / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> Service:
        """Spawn the process and wait until its probe answers."""
        self.spawn()
        self.wait_ready(timeout_s)
        return self

    def spawn(self) -> Service:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, stdin=subprocess.DEVNULL
        )
        return self

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        if self.ready_url is None:
            return
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {self.proc.returncode} before it was "
                    f"ready:\n{self.output_tail()}"
                )
            try:
                with urllib.request.urlopen(self.ready_url, timeout=1.0) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise ServiceError(
            f"{self.name} was not ready at {self.ready_url} within {timeout_s:g} s:\n{self.output_tail()}"
        )

    def wait(self, timeout_s: float) -> int:
        """Wait for the process to end by itself; stop it (and fail) past ``timeout_s``."""
        assert self.proc is not None, "wait() before start()"
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ServiceError(
                f"{self.name} did not finish within {timeout_s:g} s and was stopped:\n{self.output_tail()}"
            ) from None

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def output_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


class Stack:
    """The mock (and optionally the gateway in front of it) on free loopback ports."""

    def __init__(
        self,
        scenario_paths: Sequence[str],
        scenario: str | None,
        gateway: bool,
        jwt_secret: str,
        log_dir: str,
        time_scale: float = 1.0,
        gateway_env: dict[str, str] | None = None,
    ) -> None:
        self.mock_port = free_port(HOST)
        self.mock_url = f"http://{HOST}:{self.mock_port}"
        self.gateway_url: str | None = None
        self.services: list[Service] = []
        args = ["serve", "--host", HOST, "--port", str(self.mock_port), "--time-scale", str(time_scale)]
        for path in scenario_paths:
            args += ["--scenarios", str(path)]
        self._plan = [
            Service(
                "mock",
                python_module("mockserver.cli", *args),
                f"{self.mock_url}/_mock/health",
                log_dir=log_dir,
            )
        ]
        if gateway:
            port = free_port(HOST)
            self.gateway_url = f"http://{HOST}:{port}"
            upstream = f"{self.mock_url}/s/{scenario}/v1" if scenario else f"{self.mock_url}/v1"
            env = {
                "JWT_SECRET": jwt_secret,
                "OPENAI_BASE_URL": upstream,
                "TELEMETRY_DB": str(Path(log_dir) / "telemetry.db"),
                **(gateway_env or {}),
            }
            argv = python_module(
                "harness.cli", "gateway", "--host", HOST, "--port", str(port), "--upstream", upstream
            )
            self._plan.append(
                Service("gateway", argv, f"{self.gateway_url}/health", env=env, log_dir=log_dir)
            )

    def start(self) -> Stack:
        """Spawn every service at once, then wait for each to answer its probe."""
        try:
            for service in self._plan:
                self.services.append(service.spawn())
            for service in self.services:
                service.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

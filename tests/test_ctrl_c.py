"""Ctrl-C on the servers stops them quietly: exit 0, no traceback, no 'Exception ignored'.
The signal goes to the whole process group, as a terminal sends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from wait import wait_until_up

from mockserver.web_runner import free_port

SECRET = "ctrl-c-test-secret-with-at-least-32-chars"


@pytest.mark.parametrize("server", ["mock", "gateway"])
def test_ctrl_c_stops_a_server_quietly(server):
    port = free_port()
    if server == "mock":
        argv = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port)]
        health = f"http://127.0.0.1:{port}/_mock/health"
    else:
        argv = [
            sys.executable,
            "-m",
            "harness.cli",
            "gateway",
            "--port",
            str(port),
            "--telemetry-db",
            ":memory:",
        ]
        argv += ["--upstream", "http://127.0.0.1:9/v1"]
        health = f"http://127.0.0.1:{port}/health"
    env = {**os.environ, "JWT_SECRET": SECRET}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    try:
        wait_until_up(health, proc)
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "Exception ignored" not in output, output

"""The locustfile as a Locust user types it: bare ``locust`` commands, no harness in between."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SECRET

LOCUSTFILE = Path(__file__).resolve().parents[1] / "loadtests" / "locustfile.py"


def locust(*args: str, secret: str | None = SECRET, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    if secret is not None:
        env["JWT_SECRET"] = secret
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_the_readme_command_against_a_running_gateway(gateway, tmp_path):
    out = tmp_path / "samples.json"
    run = locust(
        "-u", "4", "-r", "4", "-t", "2s", "--host", gateway.url, "--think-time", "0.1",
        "--results-json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    streams = json.loads(out.read_text())
    assert streams["measured"]["requests"] >= 2 and streams["measured"]["failures"] == 0
    # a bare --host is the gateway's: only the gateway users ran, none of them got a 404
    assert "POST /api/v1/chat" in run.stderr and "/v1/chat/completions" not in run.stderr


def test_the_mock_user_named_with_the_mocks_host(mock_openai_server, tmp_path):
    run = locust(
        "-u", "2", "-r", "2", "-t", "2s", "MockChatUser", "--host", mock_openai_server.url, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "POST /v1/chat/completions (stream)" in run.stderr


def test_no_host_is_one_line_and_a_non_zero_exit(tmp_path):
    run = locust("-u", "2", "-r", "2", "-t", "2s", cwd=tmp_path)
    assert run.returncode == 2
    mine = [line for line in run.stderr.splitlines() if line.startswith("locustfile:")]
    assert len(mine) == 1 and "pass --host http://127.0.0.1:3000" in mine[0]
    assert "Traceback" not in run.stderr and "StopTest" not in run.stderr


def test_a_gateway_user_with_no_secret_says_which_variable(gateway, tmp_path):
    run = locust("-u", "2", "-r", "2", "-t", "2s", "--host", gateway.url, secret=None, cwd=tmp_path)
    assert run.returncode == 2
    assert "set JWT_SECRET (or pass --jwt-secret)" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_run_whose_streams_fail_exits_non_zero(unused_tcp_port, tmp_path):
    run = locust(
        "-u", "2", "-r", "2", "-t", "3s", "--host", f"http://127.0.0.1:{unused_tcp_port}", cwd=tmp_path
    )  # fmt: skip
    assert run.returncode == 1
    assert "Connection refused" in run.stderr

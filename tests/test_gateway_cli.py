"""``harness gateway``: the CLI starts the gateway in front of the mock, and refuses bad settings."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import SECRET, auth, chat
from wait import wait_until_up

from harness.cli import main
from mockserver.web_runner import free_port


def test_refuses_to_start_without_a_secret(monkeypatch, capsys):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert main(["gateway", "--upstream", "http://127.0.0.1:9/v1", "--port", "0"]) == 2
    assert "JWT_SECRET is not set" in capsys.readouterr().out


async def test_harness_gateway_serves_chat_with_the_scenario_in_the_upstream_url(mock_openai, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "JWT_SECRET": SECRET,
        "OPENAI_SSE_HEARTBEAT_MS": "5000",
        "TELEMETRY_DB": str(tmp_path / "t.db"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "gateway",
            "--port",
            str(port),
            "--upstream",
            mock_openai.scenario_url("gateway-load"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/health", proc)
        answer = await chat(url, {"message": "hello from the CLI"}, auth(session=mock_openai.session))
        assert answer.names[-2:] == ["usage", "done"]
        assert answer.of("done")[0].data["finish_reason"] == "stop"
        assert len(answer.of("token")) == 20
        [entry] = mock_openai.journal()  # the scenario came from the upstream URL's prefix
        assert entry["scenario"] == "gateway-load" and entry["first_content_ms"] >= 150
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert "chat completion finished: user=test-user" in output
    assert answer.headers["X-Request-Id"] in output  # the request id is on the log lines
    assert (tmp_path / "t.db").exists()

"""The optional comparisons of the bench: found or skipped with a reason, configured to talk only to
the local mock, and pinned to one version wherever the pin is written."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import yaml

from harness.bench import extras
from harness.bench.__main__ import skipped_extras
from harness.load.services import ServiceError

ROOT = Path(__file__).resolve().parents[1]


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_litellm_is_found_beside_this_python_first_then_in_the_bench_venv(tmp_path):
    env_bin, venv = tmp_path / "env" / "bin", tmp_path / "litellm-venv"
    env_bin.mkdir(parents=True)
    missing = extras.find_litellm(env_bin, venv)
    assert not missing.ok
    assert missing.reason.startswith("LiteLLM proxy is not installed: install it with `make bench`")
    assert f"litellm[proxy]=={extras.LITELLM_VERSION}" in missing.reason
    in_venv = executable(venv / "bin" / "litellm")
    assert extras.find_litellm(env_bin, venv).path == in_venv
    here = executable(env_bin / "litellm")
    assert extras.find_litellm(env_bin, venv).path == here


def test_aimock_needs_node_and_the_package(tmp_path):
    assert extras.find_aimock(node="", folder=tmp_path).reason.startswith("node is not on PATH")
    not_installed = extras.find_aimock(node="/usr/bin/node", folder=tmp_path)
    assert not not_installed.ok and "npm install @copilotkit/aimock" in not_installed.reason
    cli = tmp_path / extras.AIMOCK_CLI
    cli.parent.mkdir(parents=True)
    cli.write_text("")
    assert extras.find_aimock(node="/usr/bin/node", folder=tmp_path).path == cli


def test_workers_run_only_when_the_mock_lists_the_option():
    assert extras.workers_supported("usage: mockopenai serve [--workers N] [--port PORT]").ok
    skipped = extras.workers_supported("usage: mockopenai serve [--port PORT]")
    assert not skipped.ok and "lists no --workers option" in skipped.reason


def test_litellm_config_points_its_one_model_at_the_mock_and_stores_nothing():
    doc = yaml.safe_load(extras.litellm_config("http://127.0.0.1:8123/s/bench-steady-150/v1", "sk-bench-x"))
    (model,) = doc["model_list"]
    assert model["model_name"] == "gpt-4o-mini"
    assert model["litellm_params"]["model"] == "openai/gpt-4o-mini"
    assert model["litellm_params"]["api_base"] == "http://127.0.0.1:8123/s/bench-steady-150/v1"
    assert doc["general_settings"]["master_key"] == "sk-bench-x"
    assert "database_url" not in doc["general_settings"]
    assert doc["litellm_settings"]["telemetry"] is False
    assert extras.LITELLM_ENV["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"  # no cost-map download


def test_litellm_runs_one_worker_on_loopback_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    lt = extras.litellm_service(Path("/opt/litellm"), "http://127.0.0.1:8123/v1", str(tmp_path))
    argv = lt.service.argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and argv[argv.index("--num_workers") + 1] == "1"
    assert lt.url.startswith("http://127.0.0.1:") and "DATABASE_URL" not in lt.service.env
    assert lt.master_key in (tmp_path / "litellm.yaml").read_text()


def test_the_aimock_fixture_streams_as_many_content_chunks_as_the_mock():
    (fixture,) = extras.aimock_fixture()["fixtures"]
    content = fixture["response"]["content"]
    assert fixture["match"] == {}  # every request
    chunks = [content[i : i + extras.AIMOCK_CHUNK] for i in range(0, len(content), extras.AIMOCK_CHUNK)]
    assert len(chunks) == 20 and all(c.startswith(" word") for c in chunks)


def test_one_version_of_litellm_and_aimock_wherever_it_is_written():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LITELLM_VERSION := (\S+)$", makefile, re.M).group(1) == extras.LITELLM_VERSION
    assert extras.LITELLM_VERSION != "1.107.0"  # a compromised release
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["bench"]
    assert extra == [f"litellm[proxy]=={extras.LITELLM_VERSION}"]
    assert re.search(r"^AIMOCK_VERSION := \d+\.\d+\.\d+$", makefile, re.M)
    assert ".cache/" in (ROOT / ".gitignore").read_text().split()


def test_quick_and_without_leave_comparisons_out_with_a_reason():
    quick = skipped_extras(argparse.Namespace(quick=True, without=["aimock"]))
    assert quick == {
        "aimock": "left out with --without",
        "litellm": "left out of --quick (its start-up alone takes seconds)",
    }
    assert skipped_extras(argparse.Namespace(quick=False, without=[])) == {}


def test_a_server_that_would_not_start_is_skipped_in_one_line():
    exc = ServiceError(
        "mock-workers-2 exited with code 1 before it was ready:\nTraceback (most recent call last):\n"
        "  File \"cli.py\", line 94, in serve\nModuleNotFoundError: No module named 'x'\n"
    )
    assert extras.one_line(exc) == (
        "mock-workers-2 exited with code 1 before it was ready (ModuleNotFoundError: No module named 'x')"
    )
    assert extras.one_line(ServiceError("refused")) == "refused"


def test_the_two_worker_mock_serves_the_same_scenarios_on_one_loopback_port(tmp_path):
    service, url = extras.mock_workers_service("scenarios", 2, str(tmp_path))
    argv = service.argv
    assert argv[argv.index("--workers") + 1] == "2" and argv[argv.index("--scenarios") + 1] == "scenarios"
    assert (
        argv[argv.index("--host") + 1] == "127.0.0.1"
        and url == f"http://127.0.0.1:{argv[argv.index('--port') + 1]}"
    )
    assert service.ready_url == f"{url}/_mock/health"

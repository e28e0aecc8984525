"""A user's own project, from a plain ``pip install`` of the wheel (no extras, no editable install,
nothing of this checkout on the path): the README's plugin examples, verbatim, pass there.

Slow (it builds the wheel and installs it into a fresh virtual env), so it has its own marker:
``.ci/run`` runs it after ``make test``; ``pytest -m user_project`` runs it by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import blocks, plugin_project

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.user_project


def run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("user")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(ROOT)],
        base,
        300,
    )
    [wheel] = (base / "dist").glob("*.whl")
    run([sys.executable, "-m", "venv", str(base / "venv")], base, 120)
    py = base / "venv" / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", str(wheel), "pytest", "pytest-asyncio"], base, 600)
    return base / "venv" / "bin"


def test_the_readme_plugin_examples_pass_in_a_fresh_project(user_venv: Path, tmp_path: Path):
    project = tmp_path / "my-project"
    project.mkdir()
    plugin_project(project)
    done = run([str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, 300)
    assert "4 passed" in done.stdout


def test_the_async_example_runs_under_anyio_too(user_venv: Path, tmp_path: Path):
    project = tmp_path / "anyio-project"
    project.mkdir()
    plugin_project(project)
    sync_and_async, *_ = blocks("Pin it in CI: the pytest plugin", "python")
    anyio = sync_and_async.replace("@pytest.mark.asyncio", "@pytest.mark.anyio")
    fixture = "\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    (project / "test_readme_0.py").write_text(anyio + fixture)
    argv = [str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"]
    assert "4 passed" in run(argv, project, 300).stdout


def test_the_clis_and_the_catalogue_come_with_the_package(user_venv: Path, tmp_path: Path):
    plugin_project(tmp_path)
    done = run([str(user_venv / "mockopenai"), "validate", "scenarios"], tmp_path, 60)
    assert "1 scenario(s) OK" in done.stdout
    listed = run([str(user_venv / "mockopenai"), "scenarios", "scenarios"], tmp_path, 60)
    assert "flaky-upstream" in listed.stdout
    both = run([str(user_venv / "mockopenai"), "scenarios"], tmp_path, 60).stdout  # the catalogue too
    assert "flaky-upstream" in both and "chat-stream-drop" in both
    run([str(user_venv / "harness"), "--help"], tmp_path, 60)
    # no load extra here: one line says which install brings Locust
    load = subprocess.run(
        [str(user_venv / "harness"), "load"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert load.returncode == 2
    assert load.stderr.strip() == (
        "harness load needs Locust, which is not installed: pip install 'locust>=2.20' 'matplotlib>=3.8'"
        " (the load extra)"
    )


def test_bare_locust_runs_the_packaged_locust_file_from_a_users_project(user_venv: Path, tmp_path: Path):
    """The README's Locust line for a project of your own: the load extra's requirements, as
    ``harness load`` names them, then ``locust -f "$(harness locustfile)"`` against a mock."""
    from wait import wait_until_up

    from servekit.threaded import free_port

    run(
        [str(user_venv / "python"), "-m", "pip", "install", "-q", "locust>=2.20", "matplotlib>=3.8"],
        tmp_path,
        600,
    )
    locustfile = run([str(user_venv / "harness"), "locustfile"], tmp_path, 60).stdout.strip()
    assert locustfile.startswith(str(user_venv.parent)) and locustfile.endswith("locustfile.py")
    port = free_port()
    mock = subprocess.Popen(
        [str(user_venv / "mockopenai"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_mock/health", mock, 60)
        argv = [str(user_venv / "locust"), "-f", locustfile, "--headless", "-u", "4", "-r", "4", "-t", "3s"]
        done = run([*argv, "MockChatUser", "--host", f"http://127.0.0.1:{port}"], tmp_path, 120)
        assert "Aggregated" in done.stdout + done.stderr
    finally:
        mock.terminate()
        mock.wait(timeout=15)

"""The other servers the bench sets beside ours, each optional: LiteLLM proxy, aimock, the mock's
``--workers``. Each is found (or not) with a one-line reason, and started as a :class:`Service`
on a free 127.0.0.1 port, talking only to the local mock.

* LiteLLM proxy (1 worker), from the ``bench`` extra: installed into this environment, or, as
  ``make bench`` does it, into its own virtual env under ``.cache/bench/litellm-venv`` (LiteLLM
  pins an older openai than the project's). Its model points at the mock; no database, no
  telemetry, no cost-map download.
* aimock (Node), ``npm install @copilotkit/aimock`` into ``.cache/bench/aimock``; served by its
  ``llmock`` CLI with one catch-all fixture that streams as many chunks as the mock does.
* ``mockopenai serve --workers 2``, when the mock's CLI has the option.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.load.services import HOST, Service, python_module
from mockserver.web_runner import free_port

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "bench"
LITELLM_VERSION = "1.106.12"  # the newest whose proxy extra resolves on the registry; never 1.107.0
LITELLM_VENV = CACHE / "litellm-venv"
AIMOCK_DIR = CACHE / "aimock"
AIMOCK_CLI = Path("node_modules") / "@copilotkit" / "aimock" / "dist" / "cli.js"
LITELLM_INSTALL = (
    "install it with `make bench` (a virtual env of its own under .cache/bench/litellm-venv), or "
    f"`pip install 'litellm[proxy]=={LITELLM_VERSION}'`"
)
AIMOCK_INSTALL = "install it with `make bench` (npm install @copilotkit/aimock into .cache/bench/aimock)"


@dataclass(frozen=True, slots=True)
class Found:
    """Where an optional server's command is, or why it is not there (``path`` is None)."""

    path: Path | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


def find_litellm(env_bin: Path | None = None, venv: Path = LITELLM_VENV) -> Found:
    """The ``litellm`` command: beside this Python (the extra installed here), else in the bench's
    own virtual env."""
    env_bin = Path(sys.executable).parent if env_bin is None else env_bin
    for candidate in (env_bin / "litellm", venv / "bin" / "litellm"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return Found(candidate)
    return Found(None, f"LiteLLM proxy is not installed: {LITELLM_INSTALL}")


def find_aimock(node: str | None = None, folder: Path = AIMOCK_DIR) -> Found:
    """aimock's server CLI, when ``node`` is on PATH and the package is in ``folder``."""
    node = shutil.which("node") if node is None else node
    if not node:
        return Found(None, "node is not on PATH: aimock (Node) cannot run here")
    cli = folder / AIMOCK_CLI
    if not cli.is_file():
        return Found(None, f"aimock is not installed: {AIMOCK_INSTALL}")
    return Found(cli)


def workers_supported(help_text: str) -> Found:
    """``mockopenai serve --workers`` is there when its help lists the option."""
    if "--workers" in help_text:
        return Found(Path("mockopenai"))
    return Found(None, "`mockopenai serve --help` lists no --workers option: the mock has no workers yet")


def mock_serve_help() -> str:
    try:
        proc = subprocess.run(
            python_module("mockserver.cli", "serve", "--help"), capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"(could not run: {exc})"
    return proc.stdout + proc.stderr


def one_line(exc: BaseException) -> str:
    """A start-up failure as one line: what happened, and the last line its process printed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(exc).__name__
    return f"{lines[0].rstrip(':')} ({lines[-1]})"


# --- LiteLLM proxy -------------------------------------------------------------------------------


def litellm_config(api_base: str, master_key: str) -> str:
    """The proxy's YAML config: one model, ``openai/gpt-4o-mini`` at the mock; nothing stored."""
    return "\n".join(
        [
            "model_list:",
            "  - model_name: gpt-4o-mini",
            "    litellm_params:",
            "      model: openai/gpt-4o-mini",
            f"      api_base: {json.dumps(api_base)}",
            "      api_key: sk-bench",
            "litellm_settings:",
            "  telemetry: false",
            "  drop_params: true",
            "  turn_off_message_logging: true",
            "general_settings:",
            f"  master_key: {json.dumps(master_key)}",
            "  disable_spend_logs: true",
            "  disable_error_logs: true",
            "",
        ]
    )


# No database, no telemetry, no remote cost map, quiet logs: LiteLLM talks only to the mock.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
}


@dataclass
class LiteLLM:
    service: Service
    url: str
    master_key: str


def litellm_service(command: Path, api_base: str, log_dir: str) -> LiteLLM:
    port = free_port(HOST)
    key = "sk-bench-" + secrets.token_hex(16)
    config = Path(log_dir) / "litellm.yaml"
    config.write_text(litellm_config(api_base, key))
    argv = [str(command), "--config", str(config), "--host", HOST, "--port", str(port), "--num_workers", "1"]
    service = Service(
        "litellm", argv, f"http://{HOST}:{port}/health/liveliness", env=LITELLM_ENV, log_dir=log_dir
    )
    for var in ("DATABASE_URL", "LITELLM_MASTER_KEY"):  # ours only: no database, our key
        service.env.pop(var, None)
    return LiteLLM(service, f"http://{HOST}:{port}", key)


# --- aimock ---------------------------------------------------------------------------------------

AIMOCK_CHUNK = 6  # characters per streamed chunk: 20 words of 6 characters are 20 content chunks


def aimock_fixture(tokens: int = 20) -> dict:
    """One catch-all fixture whose stream has the mock's shape: a role chunk, ``tokens`` content
    chunks, a finish chunk, ``[DONE]``."""
    words = "".join(f" word{chr(ord('A') + i % 26)}" for i in range(tokens))
    return {"fixtures": [{"match": {}, "response": {"content": words}}]}


def aimock_service(cli: Path, log_dir: str) -> tuple[Service, str]:
    port = free_port(HOST)
    fixture = Path(log_dir) / "aimock-fixture.json"
    fixture.write_text(json.dumps(aimock_fixture()))
    node = shutil.which("node") or "node"
    argv = [node, str(cli), "-p", str(port), "-h", HOST, "-f", str(fixture), "-c", str(AIMOCK_CHUNK)]
    argv += ["--log-level", "silent"]
    return Service("aimock", argv, f"http://{HOST}:{port}/health", log_dir=log_dir), f"http://{HOST}:{port}"


def mock_workers_service(scenarios: str, workers: int, log_dir: str) -> tuple[Service, str]:
    port = free_port(HOST)
    argv = python_module(
        "mockserver.cli", "serve", "--host", HOST, "--port", str(port), "--scenarios", scenarios
    )
    argv += ["--workers", str(workers)]
    url = f"http://{HOST}:{port}"
    return Service(f"mock-workers-{workers}", argv, f"{url}/_mock/health", log_dir=log_dir), url

"""LiteLLM against the mock, as its users call it: ``completion`` / ``acompletion`` with
``api_base``, streamed and not, a forced and a model-chosen tool call, ``litellm.responses``
(plain and streamed), and scenario faults as LiteLLM's own exceptions.

LiteLLM brings a large tree of its own (boto3, tokenizers, huggingface-hub) and has pinned other
majors of openai than the project's, so it lives in a venv of its own: the first run makes
``.cache/clients/litellm-venv`` and installs ``litellm==LITELLM_VERSION`` (a stamp file names the
version; a new version makes a new venv). The mock runs here, in the project's venv; the script
``tests/litellm_client/litellm_paths.py`` runs in LiteLLM's venv against it and prints a result
per path, which the tests below check with what the journal says LiteLLM sent. Marked
``litellm_client``, left out of the default run; ``.ci/run`` runs it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.pytest_plugin import MockOpenAI

pytestmark = pytest.mark.litellm_client

LITELLM_VERSION = "1.110.2"
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "litellm_client" / "litellm_paths.py"
VENV = ROOT / ".cache" / "clients" / "litellm-venv"
STAMP = VENV / f".installed-{LITELLM_VERSION}"
PYTHON = VENV / "bin" / "python"
INSTALL_TIMEOUT_S = 600
SCRIPT_TIMEOUT_S = 180
SESSION = "litellm-" + uuid.uuid4().hex[:12]


def install_litellm() -> Path:
    """LiteLLM's venv, made once per version."""
    if STAMP.exists() and PYTHON.exists():
        return PYTHON
    shutil.rmtree(VENV, ignore_errors=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"litellm=={LITELLM_VERSION}",
        ],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(step[-2:])} took longer than {INSTALL_TIMEOUT_S} s")
        if done.returncode != 0:
            pytest.fail(f"{' '.join(step)} failed: {done.stderr.strip()[-1500:]}")
    STAMP.touch()
    return PYTHON


@pytest.fixture(scope="module")
def results(mock_openai_server) -> dict[str, Any]:
    python = install_litellm()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(VENV)),
        "MOCK_BASE_URL": mock_openai_server.base_url,
        "MOCK_SESSION": SESSION,
        "NO_PROXY": "127.0.0.1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the model price list it ships, not one from the web
    }
    done = subprocess.run(
        [str(python), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {name: r["error"] for name, r in out.items() if isinstance(r, dict) and "error" in r}
    assert not failed, {name: out[name]["trace"] for name in failed}
    return out


def sent(server, path: str) -> list[tuple[str, bool, int, list[str]]]:
    entries = MockOpenAI(server, f"{SESSION}-{path}").journal()
    return [(e["endpoint"], e["stream"], e["status"], e["body_fields"]) for e in entries]


def test_the_pinned_litellm_runs(results):
    assert results["version"] == LITELLM_VERSION


def test_completion_with_api_base(results, mock_openai_server):
    r = results["completion"]
    assert r["text"].endswith(".") and r["finish"] == "stop" and r["model"] == "gpt-4o-mini"
    assert r["usage"]["completion_tokens"] == len(r["text"].split())
    assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]
    assert sent(mock_openai_server, "completion") == [("chat.completions", False, 200, ["messages", "model"])]
    assert (
        MockOpenAI(mock_openai_server, f"{SESSION}-completion")
        .journal()[0]["user_agent"]
        .startswith("OpenAI/Python ")
    )


def test_streamed_completion_with_usage(results, mock_openai_server):
    r, plain = results["completion_stream"], results["completion"]
    assert "".join(r["pieces"]) == plain["text"] and len(r["pieces"]) == len(plain["text"].split())
    assert r["finish"] == "stop" and r["usage"]["completion_tokens"] == len(r["pieces"])
    assert sent(mock_openai_server, "completion_stream") == [
        ("chat.completions", True, 200, ["messages", "model", "stream", "stream_options"])
    ]
    assert (
        MockOpenAI(mock_openai_server, f"{SESSION}-completion_stream").journal()[0]["event_types"][-1]
        == "done"
    )


def test_acompletion_plain_and_streamed(results, mock_openai_server):
    r = results["acompletion"]
    assert r["text"] == r["streamed"] == results["completion"]["text"]
    entries = MockOpenAI(mock_openai_server, f"{SESSION}-acompletion").journal()
    assert [(e["stream"], e["status"]) for e in entries] == [(False, 200), (True, 200)]
    assert all(e["user_agent"].startswith("AsyncOpenAI/Python ") for e in entries)


def test_a_forced_tool_call(results, mock_openai_server):
    r = results["forced_tool"]
    assert r["name"] == "get_weather" and r["id"].startswith("call_")
    assert set(r["arguments"]) == {"city", "unit"} and r["arguments"]["unit"] in ("c", "f")
    # the mock ends a call forced by name with "stop", as the real API does; LiteLLM reports any
    # answer that carries tool calls as "tool_calls"
    assert r["finish"] == "tool_calls"
    assert sent(mock_openai_server, "forced_tool") == [
        ("chat.completions", False, 200, ["messages", "model", "tool_choice", "tools"])
    ]


def test_a_tool_the_model_chooses(results, mock_openai_server):
    assert results["auto_tool"] == {"names": ["get_weather"], "finish": "tool_calls"}
    assert sent(mock_openai_server, "auto_tool") == [
        ("chat.completions", False, 200, ["messages", "model", "tools"])
    ]


def test_litellm_responses_plain_and_streamed(results, mock_openai_server):
    r = results["responses"]
    assert r["status"] == "completed" and r["text"] == results["completion"]["text"]
    assert r["id"].startswith("resp_")
    wrapped = r["id"].removeprefix("resp_")
    decoded = base64.b64decode(wrapped + "=" * (-len(wrapped) % 4)).decode()
    assert "response_id:resp_" in decoded  # LiteLLM wraps the mock's own response id
    assert r["types"][0] == "response.created" and r["types"][-1] == "response.completed"
    assert r["streamed"] == r["text"]
    assert sent(mock_openai_server, "responses") == [("responses", False, 200, ["input", "model"])]
    assert sent(mock_openai_server, "responses_stream") == [
        ("responses", True, 200, ["input", "model", "stream"])
    ]
    assert (
        MockOpenAI(mock_openai_server, f"{SESSION}-responses").journal()[0]["user_agent"]
        == f"litellm/{LITELLM_VERSION}"
    )


def test_scenario_faults_reach_litellm_as_its_own_exceptions(results, mock_openai_server):
    limited = results["rate_limited"]
    assert (limited["class"], limited["status"]) == ("RateLimitError", 429)
    assert "You exceeded your current quota" in limited["message"]
    assert [e["status"] for e in MockOpenAI(mock_openai_server, f"{SESSION}-rate_limited").journal()] == [429]
    broken = results["stream_error"]
    # LiteLLM turns the in-band error after some chunks into its MidStreamFallbackError
    assert broken["class"] == "MidStreamFallbackError" and broken["pieces"] >= 1
    assert "The server had an error while processing your request" in broken["message"]
    (entry,) = MockOpenAI(mock_openai_server, f"{SESSION}-stream_error").journal()
    assert entry["faults"] == ["error_event"]

"""The official ``openai`` npm SDK against the mock, as its users call it.

npm installs ``openai`` into ``.cache/node-client/`` (kept between runs, gitignored); the script
``tests/node_client/sdk_paths.mjs`` is copied beside it and run against the mock on 127.0.0.1. It
prints one JSON object, a result per path, which the tests below check. Slow (an npm install
the first time): marked ``node_client``, left out of the default run; ``.ci/run`` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.pytest_plugin import MockOpenAI

pytestmark = pytest.mark.node_client

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "node_client" / "sdk_paths.mjs"
CACHE = ROOT / ".cache" / "node-client"
NPM_TIMEOUT_S = 300
SCRIPT_TIMEOUT_S = 120


def _install_sdk() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip(f"the npm SDK test needs node and npm on PATH (node: {node}, npm: {npm})")
    CACHE.mkdir(parents=True, exist_ok=True)
    package = CACHE / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": "node-client-cache", "private": True, "type": "module"}))
    if not (CACHE / "node_modules" / "openai" / "package.json").exists():
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "openai"],
                cwd=CACHE,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install openai took longer than {NPM_TIMEOUT_S} s")
        if done.returncode != 0:
            pytest.skip(f"npm install openai failed: {done.stderr.strip()[-500:]}")
    shutil.copy(SCRIPT, CACHE / SCRIPT.name)  # beside node_modules, so `import "openai"` resolves
    return Path(node)


SESSION = "node-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def results(mock_openai_server) -> dict[str, Any]:
    node = _install_sdk()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(CACHE)),
        "MOCK_BASE_URL": mock_openai_server.base_url,
        "MOCK_SESSION": SESSION,
        "NO_PROXY": "127.0.0.1",
    }
    done = subprocess.run(
        [str(node), SCRIPT.name],
        cwd=CACHE,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {name: r["error"] for name, r in out.items() if isinstance(r, dict) and "error" in r}
    assert not failed, failed
    return out


def test_npm_sdk_version_is_a_current_one():
    _install_sdk()
    version = json.loads((CACHE / "node_modules" / "openai" / "package.json").read_text())["version"]
    assert int(version.split(".")[0]) >= 5, version


def test_chat_stream_with_usage(results):
    r = results["chat_stream_usage"]
    assert r["text"] and r["finish"] == "stop"
    assert r["usageChunkChoices"] == 0  # the usage chunk has `choices: []`
    usage = r["usage"]
    assert usage["completion_tokens"] == len(r["text"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_stream_helper_with_a_forced_tool(results):
    r = results["chat_stream_helper_forced_tool"]
    assert r["finish"] == "stop"  # forced by name: the real API ends with stop
    assert r["toolName"] == "get_weather"
    assert json.loads(r["arguments"]) == r["parsed"]  # strict: the helper parsed them itself
    assert set(r["parsed"]) == {"city", "unit"} and r["parsed"]["unit"] in ("c", "f")
    assert r["argumentsDone"] == [{"name": "get_weather", "arguments": r["arguments"], "parsed": r["parsed"]}]


def test_responses_stream_helper_final_response(results):
    r = results["responses_stream_final"]
    assert r["types"][0] == "response.created" and r["types"][-1] == "response.completed"
    assert r["status"] == "completed"
    assert r["outputText"] == r["deltas"] and r["outputText"]
    assert r["usage"]["output_tokens"] == len(r["outputText"].split())


def test_background_job_resumed_with_starting_after(results):
    r = results["background_resume"]
    assert r["seen"] == [0, 1, 2, 3]
    assert r["after"][0] == 4 and r["after"] == list(range(4, 4 + len(r["after"])))
    assert r["types"][-1] == "response.completed" and r["status"] == "completed"
    assert r["polledStatus"] == "completed" and r["outputText"]
    # the helper reads the stored stream from the start and filters: the same events, same text
    assert r["helperAfter"] == r["after"] and r["helperOutputText"] == r["outputText"]


def test_streamed_image_with_partial_images(results):
    events = results["images_stream_partials"]["events"]
    assert [(e["type"], e["index"]) for e in events] == [
        ("image_generation.partial_image", 0),
        ("image_generation.partial_image", 1),
        ("image_generation.completed", None),
    ]
    assert all(e["png"] and e["bytes"] > 100 for e in events)
    assert events[-1]["usage"]["total_tokens"] > 0


def test_embeddings_the_sdk_decodes_from_base64(results):
    r = results["embeddings_default_base64"]
    assert r["lengths"] == [1536, 1536] and r["isArray"] and r["sameAsFloat"]
    assert all(abs(n - 1) < 1e-5 for n in r["norms"])
    assert r["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_typed_errors(results):
    e = results["typed_errors"]
    assert e["chat_unknown_model"]["class"] == "NotFoundError"
    assert e["chat_unknown_model"]["code"] == "model_not_found"
    assert e["chat_unknown_model"]["requestID"].startswith("req_")
    assert e["responses_unknown_model"]["class"] == "BadRequestError"
    assert e["responses_unknown_model"]["param"] == "model"
    assert e["bad_param"]["class"] == "BadRequestError" and e["bad_param"]["param"] == "messages"
    assert e["no_key"]["class"] == "AuthenticationError" and e["no_key"]["code"] is None
    assert e["scenario_429"]["class"] == "RateLimitError" and e["scenario_429"]["status"] == 429
    # an in-band `data: {"error": …}` chunk: the SDK throws APIError with the error's fields
    assert (
        e["chat_in_band_error"]["class"] == "APIError" and e["chat_in_band_error"]["code"] == "server_error"
    )
    # a connection closed mid-stream: undici's "terminated", as a real dropped stream gives
    assert e["chat_stream_drop"]["class"] == "TypeError" and e["chat_stream_drop"]["message"] == "terminated"
    # a Responses `event: error` is handed over as an event; the helper then rejects with it
    assert e["responses_error_event"]["types"][-1] == "error"
    assert e["responses_error_event"]["error"]["code"] == "server_error"
    assert e["responses_error_event_final"]["code"] == "server_error"
    # the SDK's retries honour retry-after-ms (200) and the retry succeeds
    assert e["retried_429"]["text"] == "Hello from the mock"
    assert e["retried_429"]["waitedMs"] >= 150


def test_the_sdks_retry_is_journalled_with_its_retry_count(results, mock_openai_server):
    entries = MockOpenAI(mock_openai_server, f"{SESSION}-retry-429").journal()
    assert [(e["status"], e["retry_count"]) for e in entries] == [(429, 0), (200, 1)]


def test_scenario_faults_reach_the_node_client_as_its_users_see_them(results):
    f = results["faults"]
    assert f["html_502"]["class"] == "InternalServerError" and f["html_502"]["status"] == 502
    assert "502 Bad Gateway" in f["html_502"]["message"]
    assert f["hang"]["class"] == "APIConnectionTimeoutError"
    assert f["malformed"]["class"] == "SyntaxError"  # the SDK's JSON.parse of the cut frame
    assert f["truncate"]["class"] == "TypeError" and f["truncate"]["message"] == "terminated"
    assert f["no_done"]["ok"] > 1  # a stream with no [DONE]: the SDK ends quietly at EOF
    assert f["images_error_event"]["class"] == "APIError"
    assert f["images_error_event"]["code"] == "server_error"

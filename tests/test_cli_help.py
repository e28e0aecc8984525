"""``--help`` of both CLIs is instant: it imports the parsers, not the servers, the SDK or Locust.
Counted in imported modules (steady on any machine), not timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "openai",
    "aiohttp",
    "locust",
    "matplotlib",
    "httpx2",
    "yaml",
    "mockserver.web_app",
    "harness.load.run",
)
PROBE = """
import contextlib, io, json, sys
from {module} import {function} as main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main({argv!r})
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(module: str, function: str, argv: list[str]) -> list[str]:
    code = PROBE.format(module=module, function=function, argv=argv)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("harness.cli", ["--help"]),
        ("harness.cli", ["load", "--help"]),
        ("harness.cli", ["repro", "--help"]),
        ("harness.cli", ["gateway", "--help"]),
        ("mockserver.cli", ["--help"]),
        ("mockserver.cli", ["serve", "--help"]),
        ("mockserver.cli", ["record", "--help"]),
    ],
)
def test_help_imports_nothing_heavy(module, argv):
    loaded = modules_after(module, "main", argv)
    assert [m for m in HEAVY if m in loaded] == []
    assert len(loaded) < 250  # the interpreter itself and argparse are ~100


def test_harness_locustfile_prints_the_packaged_locust_file(capsys):
    from harness.cli import main

    assert main(["locustfile"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "locustfile.py" and "class MockChatUser" in path.read_text(encoding="utf-8")
    assert main(["locustfile", "--targets"]) == 0
    assert (Path(capsys.readouterr().out.strip()) / "targets.yaml").is_file()

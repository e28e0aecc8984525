"""The reference gateway is a system under test, as a user's own gateway is: it imports nothing
from the mock (the harness - repro, load, bench, the plugin - is what knows both)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[1] / "harness" / "gateway"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_gateway_module_imports_the_mock():
    files = sorted(GATEWAY.glob("*.py"))
    assert len(files) > 10
    offenders = {f.name: m for f in files for m in imported_modules(f) if m.split(".")[0] == "mockserver"}
    assert offenders == {}


def test_running_the_gateway_loads_no_mock_module():
    code = (
        "import json, sys\n"
        "import harness.gateway.web_gateway, harness.gateway.runner, harness.commands.gateway\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'mockserver')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []

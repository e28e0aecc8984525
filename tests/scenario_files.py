"""Scenario files a test module writes for itself: one folder, one ``<name>.yaml`` per scenario."""

from __future__ import annotations

import pytest


def scenario_folder(tmp_path_factory: pytest.TempPathFactory, scenarios: dict[str, str]) -> str:
    """Write ``{name: YAML text}`` as ``name.yaml`` files in a new folder; return its path."""
    folder = tmp_path_factory.mktemp("scenarios")
    for name, text in scenarios.items():
        (folder / f"{name}.yaml").write_text(text)
    return str(folder)

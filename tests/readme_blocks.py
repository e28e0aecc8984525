"""The README's code blocks, read from the file itself, so tests run exactly what it shows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(title: str, language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(section(title)) if lang == language]


def plugin_project(root: Path) -> None:
    """A user's project made of the plugin section: its tests, and its own scenario file (the
    YAML block, named by the ``scenarios/<name>.yaml`` the section mentions)."""
    text = section("Pin it in CI: the pytest plugin")
    [scenario] = blocks("Pin it in CI: the pytest plugin", "yaml")
    [name] = re.findall(r"`scenarios/([\w-]+\.yaml)`", text)
    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "scenarios" / name).write_text(scenario)
    for i, code in enumerate(blocks("Pin it in CI: the pytest plugin", "python")):
        (root / f"test_readme_{i}.py").write_text(code)

"""Optional pieces and the ``pip install`` that brings each: a missing one is one line, not a
traceback from deep inside a subprocess."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re

DISTRIBUTION = "mockopenai-harness"

# module -> (what needs it, the extra that installs it)
LOAD = {"locust": "Locust", "matplotlib": "matplotlib (the report's plots)"}


def requirements(extra: str) -> list[str]:
    """What the package's ``extra`` asks for (``locust>=2.20``, ...), from its installed metadata."""
    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""^(.*?)\s*;\s*extra\s*==\s*["']{re.escape(extra)}["']\s*$""")
    return [m.group(1) for r in declared if (m := marker.match(r))]


def missing(modules: dict[str, str], extra: str, command: str) -> str | None:
    """The message for the first of ``modules`` that cannot be imported, else ``None``: the
    requirements of the extra that brings it, which pip installs from any index (the package
    itself may not be on one)."""
    for module, what in modules.items():
        if importlib.util.find_spec(module) is None:
            wanted = " ".join(f"'{r}'" for r in requirements(extra)) or f"'{DISTRIBUTION}[{extra}]'"
            return f"{command} needs {what}, which is not installed: pip install {wanted} (the {extra} extra)"
    return None

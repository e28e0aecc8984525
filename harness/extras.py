"""Optional pieces and the ``pip install`` that brings each: a missing one is one line, not a
traceback from deep inside a subprocess."""

from __future__ import annotations

import importlib.util

# module -> (what needs it, the extra that installs it)
LOAD = {"locust": "Locust", "matplotlib": "matplotlib (the report's plots)"}


def missing(modules: dict[str, str], extra: str, command: str) -> str | None:
    """The message for the first of ``modules`` that cannot be imported, else ``None``."""
    for module, what in modules.items():
        if importlib.util.find_spec(module) is None:
            return (
                f"{command} needs {what}, which is not installed: pip install 'mockopenai-harness[{extra}]'"
            )
    return None

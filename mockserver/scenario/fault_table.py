"""The faults table of ``scenarios/faults/README.md``, derived from the faults' declarations.

``mockopenai faults`` prints it; a test checks that the README holds exactly this table, so a
new fault or field appears in the docs the moment it is declared.
"""

from __future__ import annotations

from dataclasses import fields

from .faults import FAULTS, Fault

HEADER = ("| fault | fields | what the client sees |", "|---|---|---|")


def _fields(cls: type[Fault]) -> str:
    declared = [f for f in fields(cls) if "check" in f.metadata]
    words = {
        f.name: f"`{f.name}`" + (f" ({f.metadata['note']})" if f.metadata["note"] else "") for f in declared
    }
    if cls.one_of:
        alternatives = " or ".join(words.pop(name) for name in cls.one_of)
        return ", ".join([alternatives, *words.values()])
    return ", ".join(words.values())


def rows() -> list[str]:
    """One Markdown row per fault, in the order faults run."""
    ordered = sorted(FAULTS.values(), key=lambda cls: cls.order)
    return [f"| `{cls.name}` | {_fields(cls)} | {cls.sees} |" for cls in ordered]


def markdown() -> str:
    return "\n".join([*HEADER, *rows()]) + "\n"

"""The one plain-text table printer of the harness's reports (load targets, the main job's report,
the CPU table, the gateway's telemetry): columns padded to their widest cell, two spaces apart."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence


def text_table(
    rows: Sequence[Sequence[object]],
    *,
    rule: bool = True,
    right: Sequence[int] = (),
    wrap: int | None = None,
    indent: str = "",
) -> list[str]:
    """``rows[0]`` is the header; ``rule`` puts a line of dashes under it; columns in ``right`` are
    right-aligned; with ``wrap`` a longer cell continues on more lines (nothing is cut)."""
    cells = [[(textwrap.wrap(str(c), wrap) or [""]) if wrap else [str(c)] for c in row] for row in rows]
    widths = [max(len(part) for row in cells for part in row[i]) for i in range(len(cells[0]))]
    lines: list[str] = []
    for n, row in enumerate(cells):
        for k in range(max(len(c) for c in row)):
            parts = [c[k] if k < len(c) else "" for c in row]
            text = "  ".join(
                p.rjust(w) if i in right else p.ljust(w)
                for i, (p, w) in enumerate(zip(parts, widths, strict=True))
            )
            lines.append((indent + text).rstrip())
        if n == 0 and rule:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return lines

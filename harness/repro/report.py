"""The repro's printout: the scenario, the wire, what the stack did, the verdict. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .wire import wire_lines

if TYPE_CHECKING:
    from .run import ReproResult


def report_text(result: ReproResult) -> str:
    s = result.scenario
    out = [f"scenario {s.name} ({s.path})", f"  {s.description}"]
    if s.reproduces:
        out.append(f"  reproduces: {s.reproduces}")
    out.append(f"  drives: {s.drive}   time scale: {result.time_scale:g}   took {result.elapsed_s:.2f} s")
    out.append("")
    out.append("(1) on the wire (mock journal):")
    out += [f"  {line}" for line in wire_lines(result.journal)]
    out.append("")
    out.append("(2) what the stack did:")
    out += [f"  {line}" for line in result.stack.lines] or ["  (nothing)"]
    out.append("")
    out.append("(3) verdict against expect:")
    if not result.checks:
        out.append("  ✗ expect: the scenario states no expectation, so nothing can pass")
    out += [f"  {c.line()}" for c in result.checks]
    passed = sum(c.ok for c in result.checks)
    out.append(f"{'PASS' if result.ok else 'FAIL'}: {passed}/{len(result.checks)} expectations hold")
    return "\n".join(out)

"""Print the score of the last ``mutmut run`` (``make mutation``) and fail under the target."""

from __future__ import annotations

import collections
import subprocess
import sys

TARGET = 0.90


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = collections.Counter(
        line.rsplit(": ", 1)[-1].strip() for line in out.splitlines() if ": " in line
    )
    total = sum(statuses.values())
    killed = statuses.get("killed", 0)
    if not total:
        print("mutation: no results (did mutmut run?)")
        return 2
    score = killed / total
    counts = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
    print(f"mutation score {score:.1%} ({killed}/{total} mutants killed; {counts}); target >= {TARGET:.0%}")
    survivors = [
        line.split(":")[0].strip() for line in out.splitlines() if line.rstrip().endswith("survived")
    ]
    for name in survivors:
        print(f"  survived: {name}  (mutmut show {name})")
    return 0 if score >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

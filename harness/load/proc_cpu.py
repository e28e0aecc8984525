"""CPU time of processes, read from ``/proc`` (Linux), for CPU-per-stream figures and load reports.

* :func:`cpu_seconds` - user + system time of one process (``/proc/PID/stat`` fields 14 and 15,
  in clock ticks of ``SC_CLK_TCK``); :func:`tree_cpu_seconds` adds its descendants (a server
  that forks workers).
* :class:`CpuMeter` - read once before and once after a phase: CPU seconds per named process,
  wall seconds, and so % of one core and CPU ms per stream.
* :class:`CpuSampler` - a thread sampling a changing set of processes (Locust's start and end
  inside the run) so a window can be cut out afterwards by wall-clock time.
* :func:`machine_verdict` - whether the machine, not the system under test, was the limit.

Nothing here needs more than reading files; on a system without ``/proc`` every reading is None.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")
BUSY_SHARE = 0.9  # of the machine's cores, or of one core for a single-threaded process


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, utime + stime in seconds) from the text of ``/proc/PID/stat``.

    The command name (field 2) is in parentheses and may hold spaces or ``)``; the fields are
    counted from the last ``)``: field 3 (state) is the first after it, so ppid (field 4) is at
    index 1, utime (14) at index 11 and stime (15) at index 12.
    """
    rest = text[text.rindex(")") + 2 :].split()
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (its threads included); None when it cannot be read."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())[1]
    except (OSError, ValueError, IndexError):
        return None


def parent_map() -> dict[int, list[int]]:
    """{parent pid: [child pids]} of every live process, from one pass over ``/proc``."""
    parents: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir(PROC) if e.isdigit()]
    except OSError:
        return parents
    for entry in entries:
        try:
            ppid, _ = parse_stat((PROC / entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    return parents


def descendants(pid: int, parents: dict[int, list[int]] | None = None) -> list[int]:
    """Every live descendant of ``pid`` (children, their children, ...)."""
    parents = parent_map() if parents is None else parents
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu_seconds(pid: int, parents: dict[int, list[int]] | None = None) -> tuple[float | None, int]:
    """(CPU seconds of ``pid`` and its live descendants, how many processes that is)."""
    own = cpu_seconds(pid)
    if own is None:
        return None, 0
    kids = [c for c in (cpu_seconds(k) for k in descendants(pid, parents)) if c is not None]
    return own + sum(kids), 1 + len(kids)


def machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``: all but idle
    and iowait), for the share of other work on the machine."""
    try:
        line = (PROC / "stat").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in line.split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / CLK_TCK  # guest time is already inside user


@dataclass(frozen=True, slots=True)
class CpuUse:
    """One process's CPU over a phase."""

    name: str
    cpu_s: float
    wall_s: float
    processes: int = 1  # the process and its descendants that were counted

    @property
    def share_of_core(self) -> float:
        """CPU seconds per wall second: 1.0 is one core fully busy."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def ms_per(self, streams: int) -> float | None:
        return self.cpu_s * 1000.0 / streams if streams else None

    def as_dict(self, streams: int) -> dict[str, Any]:
        per = self.ms_per(streams)
        return {
            "name": self.name,
            "processes": self.processes,
            "cpu_s": round(self.cpu_s, 3),
            "pct_of_core": round(self.share_of_core * 100.0, 1),
            "ms_per_stream": None if per is None else round(per, 3),
        }


class CpuMeter:
    """CPU of named processes (each with its descendants, but for those named in ``alone``)
    between :meth:`start` and :meth:`stop`."""

    def __init__(self, pids: dict[str, int], alone: Iterable[str] = ()) -> None:
        self.pids = dict(pids)
        self.alone = set(alone)  # e.g. the measuring process itself: its children are the servers
        self._t0 = 0.0
        self._before: dict[str, float | None] = {}

    def _read(self) -> dict[str, tuple[float | None, int]]:
        parents = parent_map() if set(self.pids) - self.alone else {}
        return {
            name: (cpu_seconds(pid), 1) if name in self.alone else tree_cpu_seconds(pid, parents)
            for name, pid in self.pids.items()
        }

    def start(self) -> CpuMeter:
        self._before = {name: cpu for name, (cpu, _) in self._read().items()}
        self._t0 = time.perf_counter()
        return self

    def stop(self) -> dict[str, CpuUse]:
        after = self._read()
        wall = time.perf_counter() - self._t0
        out = {}
        for name, (cpu, n) in after.items():
            before = self._before.get(name)
            if cpu is not None and before is not None:
                out[name] = CpuUse(name, max(0.0, cpu - before), wall, n)
        return out


@dataclass
class _Series:
    pid: int
    points: list[tuple[float, float, int]] = field(default_factory=list)  # (epoch s, cpu s, processes)


class CpuSampler:
    """Samples the CPU of a changing set of processes every ``period_s`` in a thread.

    :meth:`watch` adds a process (with its descendants) under a name; :meth:`window` gives each
    one's CPU between two wall-clock times (epoch seconds), interpolated between samples. A
    process that ended keeps its last sample, so its CPU up to then still counts.
    """

    def __init__(self, period_s: float = 0.5, clock: Callable[[], float] = time.time) -> None:
        self.period_s = period_s
        self.clock = clock
        self.series: dict[str, _Series] = {}
        self.machine: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self.series[name] = _Series(pid)
        self.sample()

    def sample(self) -> None:
        now = self.clock()
        with self._lock:
            items = list(self.series.values())
        parents = parent_map() if items else {}
        for s in items:
            cpu, n = tree_cpu_seconds(s.pid, parents)
            if cpu is not None:
                s.points.append((now, cpu, n))
        busy = machine_busy_seconds()
        if busy is not None:
            self.machine.append((now, busy))

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sample()

    def __enter__(self) -> CpuSampler:
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * self.period_s + 1.0)
        self.sample()

    def window(self, start: float, end: float) -> tuple[dict[str, CpuUse], float | None]:
        """({name: CPU between ``start`` and ``end``}, busy CPU seconds of the whole machine)."""
        wall = max(0.0, end - start)
        out = {}
        for name, s in self.series.items():
            if len(s.points) >= 1:
                cpu = _at(s.points, end) - _at(s.points, start)
                out[name] = CpuUse(name, max(0.0, cpu), wall, max(p[2] for p in s.points))
        machine = None
        if len(self.machine) >= 2:
            pts = [(t, v, 1) for t, v in self.machine]
            machine = max(0.0, _at(pts, end) - _at(pts, start))
        return out, machine


def _at(points: list[tuple[float, float, int]], t: float) -> float:
    """Cumulative CPU at time ``t``, linear between the samples around it, flat beyond them."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0, _), (t1, v1, _) in zip(points, points[1:], strict=False):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


@dataclass(frozen=True, slots=True)
class MachineVerdict:
    limited: bool  # the machine (cores, the load generator) was the limit, not the system under test
    reasons: list[str]
    notes: list[str]  # facts worth saying that do not make the run machine-limited

    def text(self) -> str:
        if self.limited:
            return "the machine was the limit, not the system under test: " + "; ".join(self.reasons)
        return "the machine had headroom: " + "; ".join(self.notes or ["no process near its limit"])


def machine_verdict(
    uses: Iterable[CpuUse],
    cores: int,
    load_generators: Iterable[str],
    load_avg_1m: float | None = None,
    machine_busy_s: float | None = None,
) -> MachineVerdict:
    """Was the machine the limit? Yes when the processes of the run (or the whole machine, other
    work included) kept close to all its cores busy, when a load-generator process sat near a
    full core (Locust drives each process's users from one thread), or when the 1-minute load
    average was above the core count."""
    uses = list(uses)
    generators = set(load_generators)
    reasons: list[str] = []
    notes: list[str] = []
    wall = max((u.wall_s for u in uses), default=0.0)
    run_cores = sum(u.share_of_core for u in uses)
    if run_cores >= BUSY_SHARE * cores:
        reasons.append(f"the processes of the run used {run_cores:.2f} of {cores} cores")
    else:
        notes.append(f"the processes of the run used {run_cores:.2f} of {cores} cores")
    if machine_busy_s is not None and wall > 0:
        busy = machine_busy_s / wall
        other = max(0.0, busy - run_cores)
        text = f"the whole machine was {busy:.2f} of {cores} cores busy ({other:.2f} other work)"
        (reasons if busy >= BUSY_SHARE * cores and run_cores < BUSY_SHARE * cores else notes).append(text)
    for u in uses:
        if u.name in generators and u.processes == 1 and u.share_of_core >= BUSY_SHARE:
            reasons.append(f"{u.name} (the load generator) was at {u.share_of_core * 100:.0f} % of a core")
        elif u.name not in generators and u.processes == 1 and u.share_of_core >= BUSY_SHARE:
            notes.append(
                f"{u.name} was at {u.share_of_core * 100:.0f} % of its one core: the system under test "
                "was CPU-bound"
            )
    if load_avg_1m is not None:
        text = f"load average (1 min) {load_avg_1m:.2f} on {cores} cores"
        if load_avg_1m > cores:  # more runnable tasks than cores: some waited for one, the tail grew
            reasons.append(text + ": processes queued for a core")
        else:
            notes.append(text)
    return MachineVerdict(bool(reasons), reasons, notes)

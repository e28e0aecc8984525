"""Stored responses and background jobs: a timeline of events that advances with the clock.

A response's whole event list is known when it is created (the content is deterministic), so a
job needs no task of its own: each event has a due time on the scenario's timeline, and what a
poll sees is whatever is due by now. That makes a job run independently of every connection —
a client whose stream drops does not slow or stop it — and makes a resume exact: replay what was
due, then deliver the rest at its due time. Cancelling freezes the timeline where it stands.
"""

from __future__ import annotations

import bisect
import copy
import functools
import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .. import errors
from ..clock import Clock
from ..reply import StreamEvent
from .responses_events import TERMINAL, snapshot

STATE_KEY = "responses"
MAX_STORED = 1000  # oldest responses are forgotten first


@dataclass(slots=True)
class Job:
    id: str
    model: str
    background: bool
    events: list[StreamEvent]
    due_ms: list[float]  # when each event is due, in scenario ms after ``started``
    started: float  # clock.monotonic() at creation
    time_scale: float  # of the clock the job runs on (real seconds per scenario second)
    cancelled_ms: float | None = None
    # Events handed to streams still following the job, by log index: a cancel silences the
    # ones not yet due, so no follower hears of progress the job never made.
    followers: list[list[tuple[int, StreamEvent]]] = field(default_factory=list)
    cut: int | None = None  # after a cancel: the first log index it stopped

    @classmethod
    def start(cls, rid: str, model: str, background: bool, events: list[StreamEvent], clock: Clock) -> Job:
        due = list(itertools.accumulate(ev.delay_ms for ev in events))
        return cls(rid, model, background, events, due, clock.monotonic(), clock.time_scale)

    def now_ms(self, monotonic: float) -> float:
        """Scenario ms since the job started, at the monotonic time ``monotonic``."""
        return (monotonic - self.started) * 1000.0 / self.time_scale

    def emitted(self, now_ms: float) -> int:
        """How many events are out by ``now_ms`` (scenario ms since the start)."""
        limit = now_ms if self.cancelled_ms is None else min(now_ms, self.cancelled_ms)
        return bisect.bisect_right(self.due_ms, limit)

    def finished(self, now_ms: float) -> bool:
        return self.cancelled_ms is not None or self.emitted(now_ms) == len(self.events)

    def status(self, now_ms: float) -> str:
        return self.snapshot(now_ms)["status"]

    def snapshot(self, now_ms: float) -> dict[str, Any]:
        return snapshot(self.events, self.emitted(now_ms), cancelled=self.cancelled_ms is not None)

    def cancel(self, now_ms: float) -> None:
        """Freeze the timeline at ``now_ms``. Streams following the job deliver what was due by
        then and end cleanly, without a terminal event (the API has none for a cancel)."""
        if self.cancelled_ms is not None:
            return
        self.cancelled_ms = now_ms
        cut = self.cut = self.emitted(now_ms)
        for handed_out in self.followers:
            for index, ev in handed_out:
                if index >= cut:
                    silence(ev)
        self.followers.clear()

    def live(self, index: int) -> bool:
        """Whether the event at log ``index`` still goes out: not once a cancel stopped it. A
        handed-out event asks this before it is written, and so does every copy a fault makes
        of it (a copy keeps its ``live``), which silencing the handed-out object alone missed."""
        return self.cut is None or index < self.cut

    def follow(
        self, starting_after: int, now_ms: float, time_scale: float | None = None
    ) -> list[StreamEvent]:
        """The events after sequence number ``starting_after``: those already due at once, the
        rest each at its due time. Delays are in scenario ms of a clock with ``time_scale`` (the
        follower's; default the job's). Copies, so a fault that edits them leaves the log intact."""
        ratio = self.time_scale / (time_scale or self.time_scale)
        end = self.emitted(now_ms) if self.cancelled_ms is not None else len(self.events)
        handed_out = []
        cursor = now_ms
        for i in range(max(0, starting_after + 1), end):
            due = self.due_ms[i]
            ev = replace(
                self.events[i],
                data=copy.deepcopy(self.events[i].data),
                delay_ms=max(0.0, due - cursor) * ratio,
                live=functools.partial(self.live, i) if self.background else None,
            )
            handed_out.append((i, ev))
            cursor = max(cursor, due)
        if self.finished(now_ms):
            self.followers.clear()  # nothing left that a cancel could stop
        elif self.background:  # only background jobs can be cancelled
            self.followers.append(handed_out)
        return [ev for _, ev in handed_out]

    def final(self) -> dict[str, Any]:
        last = self.events[-1]
        assert last.type in TERMINAL
        return copy.deepcopy(last.data["response"])


def silence(ev: StreamEvent) -> None:
    """Turn a handed-out event into an empty pause of no length: delivery writes nothing for it."""
    ev.raw, ev.delay_ms, ev.content, ev.terminal, ev.live = b"", 0.0, False, False, None


class ResponseStore:
    """The responses one mock server remembers, by id (``request.app[STATE]["responses"]``)."""

    def __init__(self, max_stored: int = MAX_STORED) -> None:
        self.max_stored = max_stored
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def add(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > self.max_stored:
            self._jobs.popitem(last=False)

    def get(self, rid: str) -> Job:
        job = self._jobs.get(rid)
        if job is None:
            raise not_found(rid)
        return job

    def has(self, rid: str) -> bool:
        return rid in self._jobs

    def delete(self, rid: str) -> Job:
        job = self.get(rid)
        del self._jobs[rid]
        return job

    def __len__(self) -> int:
        return len(self._jobs)

    def cancel(self, job: Job, now_ms: float) -> None:
        job.cancel(now_ms)

    def follow(
        self, job: Job, starting_after: int, now_ms: float, time_scale: float | None = None
    ) -> list[StreamEvent]:
        return job.follow(starting_after, now_ms, time_scale)


class SharedResponseStore(ResponseStore):
    """The stored responses of ``serve --workers N``, in the shared database, so a job created on
    one worker is polled, resumed and cancelled on any. A job is written once (its timeline is
    known when it starts); a cancel writes only when it froze it. A stream following a job asks
    the database, before writing each event, whether the job was cancelled meanwhile (by any
    worker): events past the cut are then silenced, as :meth:`Job.cancel` does in one process."""

    def __init__(self, db: Any, max_stored: int = MAX_STORED) -> None:
        super().__init__(max_stored)
        self.db = db

    def add(self, job: Job) -> None:
        self.db.job_add(job.id, replace(job, followers=[]), self.max_stored)

    def get(self, rid: str) -> Job:
        found = self.db.job_get(rid)
        if found is None:
            raise not_found(rid)
        job, cancelled_ms = found
        job.cancelled_ms = cancelled_ms
        return job

    def has(self, rid: str) -> bool:
        return self.db.job_has(rid)

    def delete(self, rid: str) -> Job:
        job = self.get(rid)
        self.db.job_delete(rid)
        return job

    def __len__(self) -> int:
        return int(self.db.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def cancel(self, job: Job, now_ms: float) -> None:
        frozen = self.db.job_cancel(job.id, now_ms)
        job.cancel(now_ms if frozen is None else frozen)

    def follow(
        self, job: Job, starting_after: int, now_ms: float, time_scale: float | None = None
    ) -> list[StreamEvent]:
        events = job.follow(starting_after, now_ms, time_scale)
        if job.background and not job.finished(now_ms) and events:
            watch = CancelWatch(self.db, job, list(enumerate(events, start=max(0, starting_after + 1))))
            for index, ev in watch.handed_out:
                ev.live = watch.checker(index)
        return events


class CancelWatch:
    """What one following stream was handed, and whether the job has been cancelled since."""

    def __init__(self, db: Any, job: Job, handed_out: list[tuple[int, StreamEvent]]) -> None:
        self.db, self.job, self.handed_out = db, job, handed_out
        self.cut: int | None = None  # the first index past the cancel, once one is seen

    def checker(self, index: int) -> Callable[[], bool]:
        return lambda: self.live(index)

    def live(self, index: int) -> bool:
        if self.cut is None:
            cancelled_ms = self.db.job_cancelled(self.job.id)
            if cancelled_ms is None:
                return True
            self.job.cancelled_ms = cancelled_ms
            self.cut = self.job.emitted(cancelled_ms)
            for i, ev in self.handed_out:  # the rest go out as pauses of no length
                if i >= self.cut:
                    silence(ev)
        return index < self.cut


def store_of(state: dict[str, Any]) -> ResponseStore:
    """The app's store (``create_app`` puts a :class:`SharedResponseStore` there for workers)."""
    store = state.get(STATE_KEY)
    if store is None:
        store = state[STATE_KEY] = ResponseStore()
    return store


# --- the errors the real API gives for stored responses --------------------------------------


def not_found(rid: str) -> errors.ApiError:
    return errors.ApiError(404, f"Response with id '{rid}' not found.")


def previous_not_found(rid: str) -> errors.ApiError:
    return errors.ApiError(404, f"Previous response with id '{rid}' not found.", param="previous_response_id")


def cannot_cancel(job: Job, status: str) -> errors.ApiError:
    if not job.background:
        return errors.ApiError(400, "Cannot cancel a synchronous response.")
    return errors.ApiError(400, f"Cannot cancel a response that is already {status}.")


def cannot_stream(rid: str) -> errors.ApiError:
    return errors.ApiError(
        400,
        f"Response '{rid}' was not created with background=true; only "
        "background responses can be streamed from GET /v1/responses/{id}.",
        param="stream",
    )

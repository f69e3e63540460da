"""Hourly series for the dashboard's charts, computed from the task log.

Invariants:
- The window is the last 24 clock hours: the final bin is the current, partly
  elapsed hour; bins never overlap and every instant in the window falls in
  exactly one.
- ``disc.good`` / ``disc.failed`` events carry a job's running total, so a
  disc is counted once: the increase over the job's previous event.
- The queue length at a bin is the number of requests whose latest state at
  the bin's end (or now, for the last bin) is waiting (received or queued).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.store import Event

HOURS = 24
WAITING = frozenset({"request.received", "request.queued"})
WORKING = frozenset({"request.assigned", "request.burning", "request.verifying"})
# request.* events that are not state changes (request.split...) leave the state alone
STATES = WAITING | WORKING | {"request.done", "request.failed", "request.cancelled"}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """The few fields of an event the charts need."""

    at: datetime
    type: str
    request_id: str | None = None
    device: str | None = None
    job_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    hours: int = HOURS

    @classmethod
    def ending(cls, now: datetime, hours: int = HOURS) -> Window:
        top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return cls(start=top - timedelta(hours=hours), hours=hours)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    def index(self, at: datetime) -> int | None:
        if at < self.start or at >= self.end:
            return None
        return int((at - self.start).total_seconds() // 3600)

    def labels(self) -> list[str]:
        return [f"{(self.start + timedelta(hours=i)).hour:02d}" for i in range(self.hours)]


@dataclass(frozen=True, slots=True)
class DiscCounts:
    good: list[int]
    per_device: dict[str, list[int]]  # good + failed discs: blanks consumed


def disc_counts(
    entries: Iterable[LogEntry], window: Window, *, before: dict[tuple[str, str], int]
) -> DiscCounts:
    """Discs verified per hour, and blanks used per device per hour.

    ``before`` holds each (job, kind) running total reached before the window.
    """
    good = [0] * window.hours
    per_device: dict[str, list[int]] = defaultdict(lambda: [0] * window.hours)
    totals = dict(before)
    for entry in entries:
        kind = {"disc.good": "good", "disc.failed": "failed"}.get(entry.type)
        if kind is None or entry.job_id is None:
            continue
        running = int(entry.data.get(kind, 0))
        key = (entry.job_id, kind)
        delta = max(0, running - totals.get(key, 0))
        totals[key] = max(running, totals.get(key, 0))
        slot = window.index(entry.at)
        if slot is None or delta == 0:
            continue
        if kind == "good":
            good[slot] += delta
        per_device[entry.device or "?"][slot] += delta
    return DiscCounts(good=good, per_device=dict(sorted(per_device.items())))


def queue_lengths(
    entries: Sequence[LogEntry], window: Window, *, now: datetime
) -> tuple[list[int], list[int]]:
    """Requests waiting and requests in progress at the end of each hour."""
    state: dict[str, str] = {}
    waiting: list[int] = []
    working: list[int] = []
    ordered = iter(entries)
    pending = next(ordered, None)
    for slot in range(window.hours):
        edge = min(window.start + timedelta(hours=slot + 1), now)
        while pending is not None and pending.at <= edge:
            if pending.request_id and pending.type in STATES:
                state[pending.request_id] = pending.type
            pending = next(ordered, None)
        waiting.append(sum(1 for s in state.values() if s in WAITING))
        working.append(sum(1 for s in state.values() if s in WORKING))
    return waiting, working


def _entry(row: Event) -> LogEntry:
    return LogEntry(
        at=row.at,
        type=row.type,
        request_id=row.request_id,
        device=row.device,
        job_id=row.job_id,
        data=row.data or {},
    )


@dataclass(frozen=True, slots=True)
class Charts:
    labels: list[str]
    good: list[int]
    per_device: dict[str, list[int]]
    waiting: list[int]
    working: list[int]


def load_charts(session: Session, now: datetime) -> Charts:
    window = Window.ending(now)
    disc_types = ("disc.good", "disc.failed")
    in_window = [
        _entry(e)
        for e in session.scalars(
            select(Event)
            .where(Event.type.in_(disc_types), Event.at >= window.start)
            .order_by(Event.id)
        )
    ]
    jobs = {e.job_id for e in in_window if e.job_id}
    before: dict[tuple[str, str], int] = {}
    if jobs:
        for row in session.scalars(
            select(Event).where(
                Event.type.in_(disc_types), Event.at < window.start, Event.job_id.in_(jobs)
            )
        ):
            kind = row.type.split(".", 1)[1]
            key = (str(row.job_id), kind)
            before[key] = max(before.get(key, 0), int((row.data or {}).get(kind, 0)))
    counts = disc_counts(in_window, window, before=before)
    # the queue needs every request's history, not just the window's; only 3 columns
    request_rows = session.execute(
        select(Event.at, Event.type, Event.request_id)
        .where(Event.type.like("request.%"), Event.request_id.is_not(None))
        .order_by(Event.id)
    ).all()
    history = [LogEntry(at=at, type=kind, request_id=rid) for at, kind, rid in request_rows]
    waiting, working = queue_lengths(history, window, now=now)
    return Charts(
        labels=window.labels(),
        good=counts.good,
        per_device=counts.per_device,
        waiting=waiting,
        working=working,
    )

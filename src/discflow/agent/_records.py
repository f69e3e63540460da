"""The agent's job records: what the server asked for, and each disc of it.

Invariants: a ``Copy`` is one physical disc (or one still to make) and keeps its
``number`` (which of the ordered copies it is) across retries; ``Job.move`` and
``Copy.move`` change state only through ``JOB_LIFECYCLE``/``COPY_LIFECYCLE``;
``to_json``/``from_json`` round-trip everything the state file needs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discflow.agent.drivers import Capabilities, WriteOrder
from discflow.domain import (
    COPY_LIFECYCLE,
    JOB_LIFECYCLE,
    CopyState,
    DriveState,
    JobState,
    Priority,
)

__all__ = [
    "COPY_DONE",
    "FAILED",
    "Copy",
    "Job",
    "JobSpec",
    "Order",
    "assigned",
    "drive_states",
    "entry_for",
    "order_id_for",
    "run_order",
]

COPY_DONE = frozenset(
    {
        CopyState.GOOD,
        CopyState.FAILED_WRITE,
        CopyState.FAILED_VERIFY,
        CopyState.CANCELLED,
        CopyState.INTERRUPTED,
    }
)
FAILED = frozenset({CopyState.FAILED_WRITE, CopyState.FAILED_VERIFY})


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A write command as the server sent it (compared for idempotency)."""

    job_id: str
    content_sha256: str
    media: str
    copies: int
    volume_name: str
    verify: bool
    label: Mapping[str, Any] | None = None  # DiscLabel as JSON: {"design", "merge"}
    priority: Priority = Priority.NORMAL
    burn_speed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "content_sha256": self.content_sha256,
            "media": self.media,
            "copies": self.copies,
            "volume_name": self.volume_name,
            "verify": self.verify,
            "label": dict(self.label) if self.label is not None else None,
            "priority": self.priority.value,
            "burn_speed": self.burn_speed,
        }

    @property
    def design(self) -> str | None:
        """The label design; a face is printed (and merge sets split jobs) only with one."""
        return (self.label or {}).get("design")

    def merge_for(self, number: int) -> dict[str, str]:
        """The label values of copy ``number`` (1-based), with COPY filled in."""
        sets = list((self.label or {}).get("merge") or [])
        fields = dict(sets[min(number, len(sets)) - 1]) if sets else {}
        if not any(key.upper() == "COPY" for key in fields):
            fields["COPY"] = f"{number} of {self.copies}"
        return fields


@dataclass(slots=True)
class Copy:
    index: int
    state: CopyState = CopyState.PENDING
    drive: int | None = None
    output: str | None = None
    error: str | None = None
    progress: float = 0.0
    avoid_drive: int | None = None  # the drive that failed the disc this one replaces
    number: int = 0  # which of the ordered copies this disc is (1-based; a retry keeps it)

    def __post_init__(self) -> None:
        if self.number == 0:
            self.number = self.index + 1

    def move(self, target: CopyState, *, job_id: str) -> None:
        """Walk forward to ``target`` through writing/verifying when the driver skipped them."""
        if self.state is target:
            return
        for step in (CopyState.WRITING, CopyState.VERIFYING):
            if COPY_LIFECYCLE.can(self.state, target):
                break
            if COPY_LIFECYCLE.can(self.state, step):
                self.state = step
        self.state = COPY_LIFECYCLE.check(self.state, target, subject=f"{job_id}#{self.index}")

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "state": self.state.value,
            "drive": self.drive,
            "output": self.output,
            "error": self.error,
            "progress": round(self.progress, 4),
            "number": self.number,
        }


@dataclass(slots=True)
class Job:
    spec: JobSpec
    state: JobState = JobState.QUEUED
    copies: list[Copy] = field(default_factory=list)
    error: str | None = None
    created: float = field(default_factory=time.time)

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    def move(self, target: JobState) -> None:
        if self.state is not target:
            self.state = JOB_LIFECYCLE.check(self.state, target, subject=self.job_id)

    def interrupt(self) -> bool:
        """After a restart: an unfinished job and its unfinished copies are interrupted."""
        if JOB_LIFECYCLE.is_terminal(self.state):
            return False
        for copy in self.copies:
            if copy.state not in COPY_DONE:
                copy.move(CopyState.INTERRUPTED, job_id=self.job_id)
                copy.error = "the agent stopped while this copy was unfinished"
        self.move(JobState.INTERRUPTED)
        self.error = "the agent restarted during this job; resubmit it under a new job_id"
        return True

    def end_cancelled(self, error: str | None) -> bool:
        """Cancel what is unfinished; True when the job ended just now."""
        for copy in self.copies:
            if copy.state not in COPY_DONE:
                copy.move(CopyState.CANCELLED, job_id=self.job_id)
        if JOB_LIFECYCLE.is_terminal(self.state):
            return False
        self.move(JobState.CANCELLED)
        self.error = self.error or error
        return True

    def fail_crashed(self, exc: BaseException) -> bool:
        """Fail the job on a driver's unexpected error; True when it ended just now."""
        for copy in self.copies:
            if copy.state not in COPY_DONE:
                copy.move(CopyState.CANCELLED, job_id=self.job_id)
        self.error = f"the device driver failed on this job: {type(exc).__name__}: {exc}"
        if JOB_LIFECYCLE.is_terminal(self.state):
            return False
        if self.state is JobState.QUEUED:
            self.move(JobState.RUNNING)
        self.move(JobState.FAILED)
        return True

    def by_merge_set(self, copies: list[Copy]) -> list[list[Copy]]:
        """``copies`` grouped by their label values, in first-copy order (a robot job each)."""
        groups: dict[tuple[tuple[str, str], ...], list[Copy]] = {}
        for copy in copies:
            key = tuple(sorted(self.spec.merge_for(copy.number).items()))
            groups.setdefault(key, []).append(copy)
        return list(groups.values())

    def design_on(self, capabilities: Capabilities) -> str | None:
        """The label design to print: the job's own, else the device's configured one."""
        return self.spec.design or capabilities.label_design

    def write_order(
        self,
        order_id: str,
        *,
        image: Path,
        size_bytes: int,
        copies: list[Copy],
        drive: int | None,
        design: str | None,
    ) -> WriteOrder:
        """The driver's order for ``copies`` of this job (one merge set per disc), its
        face printed with ``design`` (the job's own or the device's)."""
        spec = self.spec
        return WriteOrder(
            order_id=order_id,
            job_id=self.job_id,
            image=image,
            sha256=spec.content_sha256,
            size_bytes=size_bytes,
            media=spec.media,
            copies=len(copies),
            volume_name=spec.volume_name,
            verify=spec.verify,
            drive=drive,
            priority=spec.priority,
            burn_speed=spec.burn_speed,
            label_design=design,
            merge=tuple(spec.merge_for(c.number) for c in copies) if spec.label else (),
        )

    def shortfall(self) -> list[Copy]:
        """After a robot job: the failed copies to replace, one per good disc still missing."""
        pending = sum(1 for c in self.copies if c.state is CopyState.PENDING)
        missing = self.spec.copies - self.good() - pending
        failed = [c for c in self.copies if c.state in FAILED]
        return failed[-missing:] if missing > 0 else []

    def good(self) -> int:
        return sum(1 for c in self.copies if c.state is CopyState.GOOD)

    def failed(self) -> int:
        return sum(1 for c in self.copies if c.state in FAILED)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "state": self.state.value,
            "content_sha256": self.spec.content_sha256,
            "media": self.spec.media,
            "copies_requested": self.spec.copies,
            "volume_name": self.spec.volume_name,
            "verify": self.spec.verify,
            "label": dict(self.spec.label) if self.spec.label is not None else None,
            "priority": self.spec.priority.value,
            "burn_speed": self.spec.burn_speed,
            "copies": [c.to_json() for c in self.copies],
            "good": self.good(),
            "failed": self.failed(),
            "error": self.error,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        spec = JobSpec(
            job_id=data["job_id"],
            content_sha256=data["content_sha256"],
            media=data["media"],
            copies=int(data["copies_requested"]),
            volume_name=data["volume_name"],
            verify=bool(data["verify"]),
            label=data.get("label"),
            priority=Priority(data.get("priority", "normal")),
            burn_speed=data.get("burn_speed"),
        )
        copies = [
            Copy(
                index=int(c["index"]),
                state=CopyState(c["state"]),
                drive=c.get("drive"),
                output=c.get("output"),
                error=c.get("error"),
                progress=float(c.get("progress", 0.0)),
                number=int(c.get("number", 0)),
            )
            for c in data.get("copies", [])
        ]
        return cls(spec, JobState(data["state"]), copies, data.get("error"), data["created"])


@dataclass(slots=True)
class Order:
    """One submit to the driver: which copies it makes, on which drive."""

    handle: str
    job_id: str
    entries: list[int]  # copy indexes, in the order the device makes the discs
    drive: int | None
    seen: int = 0  # discs of this order already settled


def assigned(orders: Iterable[Order], index: int, job_id: str) -> bool:
    """Whether copy ``index`` of ``job_id`` is already part of a running order."""
    return any(index in o.entries for o in orders if o.job_id == job_id)


def entry_for(job: Job, order: Order, i: int, orders: Collection[Order]) -> int:
    """The copy index of the order's i-th disc; a device that made more discs than
    ordered (its own retries) takes a waiting copy, or a new one."""
    while len(order.entries) <= i:
        spare = next(
            (
                c.index
                for c in job.copies
                if c.state is CopyState.PENDING and not assigned(orders, c.index, job.job_id)
            ),
            None,
        )
        if spare is None:
            spare = len(job.copies)
            job.copies.append(Copy(spare))
        order.entries.append(spare)
    return order.entries[i]


def drive_states(
    drives: int,
    per_drive: bool,
    orders: Mapping[str, Order],
    drive_orders: Mapping[int, str],
    jobs: Mapping[str, Job],
) -> list[dict[str, Any]]:
    """What each drive is doing, for ``GET /v1/status``."""
    out: list[dict[str, Any]] = []
    for drive in range(drives):
        handle = drive_orders.get(drive)
        if handle is None and not per_drive and drive == 0 and orders:
            handle = next(iter(orders))
        state, job_id, progress = DriveState.IDLE, None, 0.0
        if handle is not None and handle in orders:
            order = orders[handle]
            job = jobs[order.job_id]
            job_id = job.job_id
            active = [
                job.copies[i]
                for i in order.entries
                if job.copies[i].state in (CopyState.WRITING, CopyState.VERIFYING)
            ]
            if active:
                state = (
                    DriveState.VERIFYING
                    if active[0].state is CopyState.VERIFYING
                    else DriveState.WRITING
                )
                progress = active[0].progress
            else:
                state = DriveState.WRITING
        out.append(
            {
                "index": drive,
                "state": state.value,
                "job_id": job_id,
                "progress": round(progress, 4),
            }
        )
    return out


def run_order(job: Job) -> tuple[int, float]:
    """Rush first, then by arrival (the robot's own priority keys say the same)."""
    return (-job.spec.priority.rank, job.created)


def order_id_for(job_id: str, n: int) -> str:
    """A file-name-safe id of at most 32 characters (PTBurn's JobID limit)."""
    digest = hashlib.sha1(job_id.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
    prefix = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in job_id)[:19]
    return f"{prefix}-{digest}-{n % 100000}"

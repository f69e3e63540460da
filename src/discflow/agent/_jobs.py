"""Jobs on the agent: copies, drives, retries, blanks and persistence.

Invariants:
- every job and copy state change goes through ``JOB_LIFECYCLE`` /
  ``COPY_LIFECYCLE.check``; each copy entry is one physical disc (or one disc
  still to make), so a failed disc stays in the list as failed and a new
  pending entry replaces it while the job has retries left;
- a job needs ``copies`` good discs; it is ``done`` only when that many copies
  are ``good``, and a copy is ``good`` only when the driver reported it good
  (verified, when the job asked for verification);
- every disc taken from the bin is settled in the ``MediaLedger`` exactly once;
  a job that meets an empty bin is ``paused`` ("out of media") and fails
  nothing; it runs again when blanks are added;
- the state file is rewritten after every change, so after a crash the
  restarted runner reports unfinished copies as ``interrupted``, never good.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from discflow.agent._cache import ContentCache
from discflow.agent._errors import Conflict
from discflow.agent._media import MediaLedger
from discflow.agent._state import StateFile
from discflow.agent.drivers import Driver, WriteOrder, WriteReport
from discflow.domain import (
    COPY_LIFECYCLE,
    JOB_LIFECYCLE,
    CopyState,
    DriveState,
    JobState,
    Priority,
)
from discflow.errors import (
    DeviceUnavailable,
    DiscflowError,
    IllegalTransition,
    MediaExhausted,
    NotFound,
)

__all__ = ["Copy", "Job", "JobRunner", "JobSpec"]

_log = logging.getLogger("discflow.agent.jobs")
_COPY_DONE = frozenset(
    {
        CopyState.GOOD,
        CopyState.FAILED_WRITE,
        CopyState.FAILED_VERIFY,
        CopyState.CANCELLED,
        CopyState.INTERRUPTED,
    }
)
_FAILED = frozenset({CopyState.FAILED_WRITE, CopyState.FAILED_VERIFY})


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
class _Order:
    handle: str
    job_id: str
    entries: list[int]  # copy indexes, in the order the device makes the discs
    drive: int | None
    seen: int = 0  # discs of this order already settled


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

    def good(self) -> int:
        return sum(1 for c in self.copies if c.state is CopyState.GOOD)

    def failed(self) -> int:
        return sum(1 for c in self.copies if c.state in _FAILED)

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


class JobRunner:
    """Drives jobs through one driver; ``step()`` is called by a ``Coordinator``."""

    def __init__(
        self,
        *,
        driver: Driver,
        cache: ContentCache,
        ledger: MediaLedger,
        state: StateFile,
        drives: int,
        retry_limit: int,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.driver = driver
        self.cache = cache
        self.ledger = ledger
        self.state_file = state
        self.drives = drives
        self.retry_limit = retry_limit
        self.on_change = on_change
        self.per_drive = driver.capabilities().per_drive
        self.jobs: dict[str, Job] = {}
        self._orders: dict[str, _Order] = {}
        self._drive_orders: dict[int, str] = {}
        self._ids = itertools.count(1)
        self._dirty = False

    # ---- persistence ----------------------------------------------------

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Load jobs after a restart; whatever was unfinished is now interrupted."""
        for data in saved.get("jobs", []):
            job = Job.from_json(data)
            if not JOB_LIFECYCLE.is_terminal(job.state):
                for copy in job.copies:
                    if copy.state not in _COPY_DONE:
                        copy.move(CopyState.INTERRUPTED, job_id=job.job_id)
                        copy.error = "the agent stopped while this copy was unfinished"
                job.move(JobState.INTERRUPTED)
                job.error = "the agent restarted during this job; resubmit it under a new job_id"
                self._dirty = True
            self.jobs[job.job_id] = job
        lost = self.ledger.recover()
        if lost:
            _log.warning("%d disc(s) were in drives when the agent stopped: counted failed", lost)
            self._dirty = True
        self.save()

    def snapshot(self) -> dict[str, Any]:
        return {"media": self.ledger.to_json(), "jobs": [j.to_json() for j in self.jobs.values()]}

    def save(self) -> None:
        self.state_file.save(self.snapshot())
        self._dirty = False

    def changed(self) -> None:
        self._dirty = True

    def _flush(self) -> None:
        if self._dirty:
            self.save()
            self.on_change()

    # ---- commands ---------------------------------------------------------

    def submit(self, spec: JobSpec) -> tuple[Job, bool]:
        """Add a job; the same ``job_id`` with the same body returns the first job."""
        existing = self.jobs.get(spec.job_id)
        if existing is not None:
            if existing.spec != spec:
                raise Conflict(
                    f"job {spec.job_id!r} exists with a different body; use a new job_id"
                )
            return existing, False
        # a media the device cannot take is refused before any job file exists
        self.driver.check_order(spec.media, copies=spec.copies)
        if not self.ledger.known(spec.media):
            loaded = ", ".join(self.ledger.media()) or "none"
            raise Conflict(
                f"media {spec.media} is not loaded in this device (loaded: {loaded}); "
                "send the job to a device that has it or POST /v1/media first"
            )
        self.cache.pin(spec.content_sha256)  # raises NotFound when not cached
        self.cache.touch(spec.content_sha256)
        job = Job(spec, copies=[Copy(i) for i in range(spec.copies)])
        self.jobs[spec.job_id] = job
        self.changed()
        self._flush()
        return job, True

    def job(self, job_id: str) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise NotFound(f"no job {job_id!r} on this agent") from None

    async def cancel(self, job_id: str) -> Job:
        job = self.job(job_id)
        if JOB_LIFECYCLE.is_terminal(job.state):
            raise Conflict(f"job {job_id!r} is already {job.state.value}; nothing to cancel")
        for handle, order in list(self._orders.items()):
            if order.job_id == job_id:
                # a disc the driver finished since the last poll is recorded first: a
                # cancel must not call a good disc spoilt (it exists, verified, in the tray)
                try:
                    self._apply(handle, await self.driver.poll(handle))
                except DiscflowError as exc:
                    _log.warning("job %s: last poll before cancelling failed: %s", job_id, exc)
                if handle not in self._orders:
                    continue
                if not await self.driver.cancel(handle):
                    # the robot said no (or never answered): the job goes on, and says so
                    raise Conflict(
                        f"the device refused to cancel job {job_id!r} (or did not confirm in "
                        "time); it is still running there: stop it at the device or try again"
                    )
                self._drop_order(handle)
                for index in order.entries:
                    if self.per_drive and job.copies[index].state not in _COPY_DONE:
                        # the blank taken for this disc is spoilt
                        self.ledger.settle(job.spec.media, good=False)
        for copy in job.copies:
            if copy.state not in _COPY_DONE:
                copy.move(CopyState.CANCELLED, job_id=job_id)
        job.move(JobState.CANCELLED)
        self._finish(job)
        self._flush()
        return job

    def media_added(self) -> None:
        self.changed()
        self._flush()

    # ---- the loop -------------------------------------------------------------

    async def step(self) -> None:
        """Poll running orders, then start work on free drives; persist on change."""
        try:
            for handle in list(self._orders):
                await self._poll_one(handle)
            for job in sorted(self.jobs.values(), key=_run_order):
                if job.state in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED):
                    try:
                        await self._advance(job)
                    except DeviceUnavailable:
                        raise
                    except Exception as exc:  # noqa: BLE001 - one job must not wedge the device
                        self._crashed(job, exc)
        finally:
            self._flush()

    async def _poll_one(self, handle: str) -> None:
        try:
            report = await self.driver.poll(handle)
        except DeviceUnavailable:
            raise  # the whole device is away: the coordinator backs off and retries
        except Exception as exc:  # noqa: BLE001 - a bad job fails alone, the next one runs
            order = self._orders.get(handle)
            if order is not None:
                await self._abandon(handle)
                self._crashed(self.jobs[order.job_id], exc)
            return
        self._apply(handle, report)

    async def _abandon(self, handle: str) -> None:
        order = self._orders[handle]
        job = self.jobs[order.job_id]
        try:
            await self.driver.cancel(handle)
        except Exception as exc:  # noqa: BLE001 - best effort; the job fails either way
            _log.warning("job %s: cancel after a crash failed: %s", job.job_id, exc)
        for index in order.entries:
            copy = job.copies[index]
            if copy.state not in _COPY_DONE:
                copy.move(CopyState.FAILED_WRITE, job_id=job.job_id)
                if self.per_drive or copy.state is not CopyState.PENDING:
                    self.ledger.settle(job.spec.media, good=False)
        self._drop_order(handle)

    def _crashed(self, job: Job, exc: BaseException) -> None:
        """Fail one job whose driver raised something unexpected, with the reason."""
        _log.exception("job %s failed on an unexpected error", job.job_id, exc_info=exc)
        for handle in [h for h, o in self._orders.items() if o.job_id == job.job_id]:
            self._drop_order(handle)
        for copy in job.copies:
            if copy.state not in _COPY_DONE:
                copy.move(CopyState.CANCELLED, job_id=job.job_id)
        job.error = f"the device driver failed on this job: {type(exc).__name__}: {exc}"
        if not JOB_LIFECYCLE.is_terminal(job.state):
            if job.state is JobState.QUEUED:
                job.move(JobState.RUNNING)
            job.move(JobState.FAILED)
            self._finish(job)
        self.changed()

    def _apply(self, handle: str, report: WriteReport) -> None:
        order = self._orders[handle]
        job = self.jobs[order.job_id]
        media = job.spec.media
        for i, disc in enumerate(report.discs):
            index = self._entry(job, order, i)
            copy = job.copies[index]
            before = copy.state
            if before in _COPY_DONE:
                continue
            if before is CopyState.PENDING and not self.per_drive:
                self.ledger.take(media, found=True)  # the robot took a blank
            try:
                copy.move(disc.state, job_id=job.job_id)
            except IllegalTransition as exc:
                _log.error("driver reported an impossible move: %s", exc)
                continue
            copy.progress = disc.progress
            copy.output = disc.output or copy.output
            copy.error = disc.error
            if copy.state in _COPY_DONE:
                self.ledger.settle(media, good=copy.state is CopyState.GOOD)
                copy.progress = 1.0 if copy.state is CopyState.GOOD else copy.progress
                if copy.state in _FAILED:
                    self._replace(job, copy)
            if copy.state is not before or disc.progress:
                self.changed()
        if report.state is JobState.PAUSED or report.out_of_media:
            if job.state is JobState.RUNNING:
                job.move(JobState.PAUSED)
                job.error = report.error or "out of media: load blanks and POST /v1/media"
                self.changed()
        elif job.state is JobState.PAUSED and report.state is JobState.RUNNING:
            job.move(JobState.RUNNING)
            job.error = None
            self.changed()
        if report.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            if report.state is JobState.FAILED and not report.discs and order.entries:
                # failed before any disc: a per-drive disc is spoilt, a robot job took none
                copy = job.copies[order.entries[0]]
                if copy.state not in _COPY_DONE:
                    copy.move(CopyState.FAILED_WRITE, job_id=job.job_id)
                    copy.error = report.error
                    if self.per_drive:
                        self.ledger.settle(media, good=False)
                    self._replace(job, copy)
            elif report.state is JobState.FAILED and not self.per_drive and not job.error:
                job.error = report.error  # a robot's job-level error, kept for the operator
            self._drop_order(handle)
            self.changed()

    def _entry(self, job: Job, order: _Order, i: int) -> int:
        while len(order.entries) <= i:
            # the device made more discs than ordered (its own retries)
            spare = next(
                (
                    c.index
                    for c in job.copies
                    if c.state is CopyState.PENDING and not self._assigned(c.index, job.job_id)
                ),
                None,
            )
            if spare is None:
                spare = len(job.copies)
                job.copies.append(Copy(spare))
            order.entries.append(spare)
        return order.entries[i]

    def _assigned(self, index: int, job_id: str) -> bool:
        return any(index in o.entries for o in self._orders.values() if o.job_id == job_id)

    def _replace(self, job: Job, failed: Copy) -> None:
        if job.failed() > self.retry_limit:
            job.error = (
                f"{job.failed()} discs failed (more than retry_limit={self.retry_limit}); "
                f"last error: {failed.error}"
            )
            return
        job.copies.append(Copy(len(job.copies), avoid_drive=failed.drive, number=failed.number))

    def _drop_order(self, handle: str) -> None:
        order = self._orders.pop(handle)
        if order.drive is not None:
            self._drive_orders.pop(order.drive, None)

    def _free_drives(self, avoid: int | None) -> list[int]:
        free = [d for d in range(self.drives) if d not in self._drive_orders]
        if self.drives > 1:
            # a replacement waits for another drive: the one that failed may be faulty
            free = [d for d in free if d != avoid]
        return free

    async def _advance(self, job: Job) -> None:
        active = [o for o in self._orders.values() if o.job_id == job.job_id]
        if job.error and job.failed() > self.retry_limit:
            if not active:
                self._fail(job)
            return
        waiting = [
            c
            for c in job.copies
            if c.state is CopyState.PENDING and not self._assigned(c.index, job.job_id)
        ]
        if not waiting:
            if not active and job.good() >= job.spec.copies:
                if job.state is JobState.QUEUED:
                    job.move(JobState.RUNNING)
                job.move(JobState.DONE)
                self._finish(job)
                self.changed()
            return
        if self.per_drive:
            for copy in waiting:
                drives = self._free_drives(copy.avoid_drive)
                if not drives:
                    return
                if not await self._start(job, [copy], drives[0]):
                    return
        elif self.driver.capabilities().one_merge_set_per_job and job.spec.label:
            # one robot job per distinct set of label values (PTBurn MergeField)
            groups: dict[tuple[tuple[str, str], ...], list[Copy]] = {}
            for copy in waiting:
                key = tuple(sorted(job.spec.merge_for(copy.number).items()))
                groups.setdefault(key, []).append(copy)
            for group in groups.values():
                if not await self._start(job, group, None):
                    return
        elif not active:
            await self._start(job, waiting, None)

    async def _start(self, job: Job, copies: list[Copy], drive: int | None) -> bool:
        media = job.spec.media
        if self.ledger.remaining(media) <= 0:
            if job.state is not JobState.PAUSED and not any(
                o.job_id == job.job_id for o in self._orders.values()
            ):
                if job.state is JobState.QUEUED:
                    job.move(JobState.RUNNING)
                job.move(JobState.PAUSED)
                job.error = f"out of {media} blanks: load more and POST /v1/media"
                self.changed()
            return False
        if job.state is JobState.QUEUED or job.state is JobState.PAUSED:
            job.move(JobState.RUNNING)
            job.error = None
        order_id = _order_id(job.job_id, next(self._ids))
        order = WriteOrder(
            order_id=order_id,
            job_id=job.job_id,
            image=self.cache.path(job.spec.content_sha256),
            sha256=job.spec.content_sha256,
            size_bytes=self.cache.size(job.spec.content_sha256),
            media=media,
            copies=len(copies),
            volume_name=job.spec.volume_name,
            verify=job.spec.verify,
            drive=drive,
            priority=job.spec.priority,
            burn_speed=job.spec.burn_speed,
            label_design=(job.spec.label or {}).get("design"),
            merge=tuple(job.spec.merge_for(c.number) for c in copies) if job.spec.label else (),
        )
        if self.per_drive:
            try:
                self.ledger.take(media)
            except MediaExhausted:
                return False
        try:
            handle = await self.driver.submit(order)
        except Exception as exc:  # noqa: BLE001 - any failure fails this disc, not the device
            if not isinstance(exc, DiscflowError):
                _log.exception("job %s: the driver crashed on submit", job.job_id)
                exc = DiscflowError(f"{type(exc).__name__}: {exc}")
            if self.per_drive:
                self.ledger.settle(media, good=False)
            copies[0].move(CopyState.FAILED_WRITE, job_id=job.job_id)
            copies[0].error = str(exc)
            copies[0].drive = drive
            self._replace(job, copies[0])
            self.changed()
            return False
        for copy in copies:
            copy.drive = drive
        self._orders[handle] = _Order(handle, job.job_id, [c.index for c in copies], drive)
        if drive is not None:
            self._drive_orders[drive] = handle
        self.changed()
        return True

    def _fail(self, job: Job) -> None:
        for copy in job.copies:
            if copy.state is CopyState.PENDING:
                copy.move(CopyState.CANCELLED, job_id=job.job_id)
        if job.state is JobState.QUEUED:
            job.move(JobState.RUNNING)
        job.move(JobState.FAILED)
        self._finish(job)
        self.changed()

    def _finish(self, job: Job) -> None:
        self.cache.unpin(job.spec.content_sha256)

    # ---- status ---------------------------------------------------------------

    def drive_states(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for drive in range(self.drives):
            handle = self._drive_orders.get(drive)
            if handle is None and not self.per_drive and drive == 0 and self._orders:
                handle = next(iter(self._orders))
            state, job_id, progress = DriveState.IDLE, None, 0.0
            if handle is not None and handle in self._orders:
                order = self._orders[handle]
                job = self.jobs[order.job_id]
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

    def busy(self) -> bool:
        return bool(self._orders)

    def paused(self) -> bool:
        return any(j.state is JobState.PAUSED for j in self.jobs.values())

    async def close(self) -> None:
        self._flush()


def _run_order(job: Job) -> tuple[int, float]:
    """Rush first, then by arrival (the robot's own priority keys say the same)."""
    return (-job.spec.priority.rank, job.created)


def _order_id(job_id: str, n: int) -> str:
    """A file-name-safe id of at most 32 characters (PTBurn's JobID limit)."""
    digest = hashlib.sha1(job_id.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
    prefix = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in job_id)[:19]
    return f"{prefix}-{digest}-{n % 100000}"

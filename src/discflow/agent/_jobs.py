"""Jobs on the agent: copies, drives, retries, blanks and persistence.

Invariants:
- job and copy states change only through ``JOB_LIFECYCLE``/``COPY_LIFECYCLE``;
  a failed disc stays in the list as failed, a new pending copy replaces it
  while retries are left; a job is ``done`` only with ``copies`` good discs,
  each reported good (verified, when asked) by the driver;
- every blank taken is settled in the ``MediaLedger`` exactly once (released
  when the drive refused it unwritten); an empty bin pauses a job, failing nothing;
- an unexpected error in one job's driver call fails that job alone, with the
  reason; the state file is rewritten after every change, so a restarted runner
  reports unfinished copies as ``interrupted``, never good.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from discflow.agent._cache import ContentCache
from discflow.agent._errors import Conflict
from discflow.agent._media import MediaLedger
from discflow.agent._records import (
    COPY_DONE,
    FAILED,
    Copy,
    Job,
    JobSpec,
    Order,
    assigned,
    drive_states,
    entry_for,
    order_id_for,
    run_order,
)
from discflow.agent._state import StateFile
from discflow.agent.drivers import Driver, WriteReport
from discflow.domain import JOB_LIFECYCLE, CopyState, JobState
from discflow.errors import (
    DeviceUnavailable,
    DiscflowError,
    IllegalTransition,
    MediaExhausted,
    NotFound,
)

__all__ = ["Copy", "Job", "JobRunner", "JobSpec"]

_log = logging.getLogger("discflow.agent.jobs")


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
        self._orders: dict[str, Order] = {}
        self._drive_orders: dict[int, str] = {}
        self._cancelling: set[str] = set()
        self._ids = itertools.count(1)
        self._dirty = False

    # ---- persistence ----------------------------------------------------

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Load jobs after a restart; whatever was unfinished is now interrupted."""
        for data in saved.get("jobs", []):
            job = Job.from_json(data)
            if job.interrupt():
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
        # while the device decides (seconds, for a robot), the loop starts nothing new for it
        self._cancelling.add(job_id)
        try:
            await self._cancel_orders(job)
        finally:
            self._cancelling.discard(job_id)
        if job.end_cancelled(None):
            self._finish(job)
        self.changed()
        self._flush()
        return job

    async def _cancel_orders(self, job: Job) -> None:
        job_id = job.job_id
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
                    if self.per_drive and job.copies[index].state not in COPY_DONE:
                        # the blank taken for this disc is spoilt
                        self.ledger.settle(job.spec.media, good=False)

    def media_added(self) -> None:
        self.changed()
        self._flush()

    # ---- the loop -------------------------------------------------------------

    async def step(self) -> None:
        """Poll running orders, then start work on free drives; persist on change."""
        try:
            for handle in list(self._orders):
                await self._poll_one(handle)
            for job in sorted(self.jobs.values(), key=run_order):
                if job.state in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED):
                    try:
                        await self._advance(job)
                    except DeviceUnavailable:
                        raise
                    except Exception as exc:  # one job must not wedge the device
                        self._crashed(job, exc)
        finally:
            self._flush()

    async def _poll_one(self, handle: str) -> None:
        try:
            report = await self.driver.poll(handle)
        except DeviceUnavailable:
            raise  # the whole device is away: the coordinator backs off and retries
        except Exception as exc:  # a bad job fails alone, the next one runs
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
        except Exception as exc:  # best effort; the job fails either way
            _log.warning("job %s: cancel after a crash failed: %s", job.job_id, exc)
        for index in order.entries:
            copy = job.copies[index]
            if copy.state not in COPY_DONE:
                copy.move(CopyState.FAILED_WRITE, job_id=job.job_id)
                if self.per_drive or copy.state is not CopyState.PENDING:
                    self.ledger.settle(job.spec.media, good=False)
        self._drop_order(handle)

    def _crashed(self, job: Job, exc: BaseException) -> None:
        """Fail one job whose driver raised something unexpected, with the reason."""
        _log.exception("job %s failed on an unexpected error", job.job_id, exc_info=exc)
        for handle in [h for h, o in self._orders.items() if o.job_id == job.job_id]:
            self._drop_order(handle)
        if job.fail_crashed(exc):
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
            if before in COPY_DONE:
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
            if copy.state in COPY_DONE:
                if disc.blank_used or not self.per_drive:
                    self.ledger.settle(media, good=copy.state is CopyState.GOOD)
                else:
                    self.ledger.release(media)  # refused before writing: not spoilt
                copy.progress = 1.0 if copy.state is CopyState.GOOD else copy.progress
                if copy.state in FAILED and self.per_drive:  # a robot remakes rejects itself
                    self._replace(job, copy)
            if copy.state is not before or disc.progress:
                self.changed()
        if report.state is JobState.PAUSED or report.out_of_media:
            why = report.error or "out of media: load blanks and POST /v1/media"
            if job.state is JobState.RUNNING:
                job.move(JobState.PAUSED)
            if job.state is JobState.PAUSED and job.error != why:
                job.error = why  # the device's latest word on why it waits
                self.changed()
        elif job.state is JobState.PAUSED and report.state is JobState.RUNNING:
            job.move(JobState.RUNNING)
            job.error = None
            self.changed()
        if report.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            if report.state is JobState.FAILED and not report.discs and order.entries:
                # failed before any disc: a per-drive disc is spoilt, a robot job took none
                copy = job.copies[order.entries[0]]
                if copy.state not in COPY_DONE:
                    copy.move(CopyState.FAILED_WRITE, job_id=job.job_id)
                    copy.error = report.error
                    if self.per_drive:
                        self.ledger.settle(media, good=False)
                    self._replace(job, copy)
            elif report.state is JobState.FAILED and not self.per_drive and not job.error:
                job.error = report.error  # a robot's job-level error, kept for the operator
            self._drop_order(handle)
            if not self.per_drive and report.state is not JobState.CANCELLED:
                for failed in job.shortfall():  # the robot ended short of good discs
                    self._replace(job, failed)
            # a robot that confirmed a cancel after our wait, or was stopped at the robot
            if report.state is JobState.CANCELLED and not self.per_drive:
                if job.end_cancelled("the device cancelled this job"):
                    self._finish(job)
            self.changed()

    def _entry(self, job: Job, order: Order, i: int) -> int:
        return entry_for(job, order, i, self._orders.values())

    def _assigned(self, index: int, job_id: str) -> bool:
        return assigned(self._orders.values(), index, job_id)

    def _replace(self, job: Job, failed: Copy) -> None:
        if job.failed() > self.retry_limit:
            job.error = (
                f"{job.failed()} discs failed (more than retry_limit={self.retry_limit}); "
                f"last error: {failed.error}"
            )
            return
        job.copies.append(Copy(len(job.copies), avoid_drive=failed.drive, number=failed.number))

    def _drop_order(self, handle: str) -> None:
        order = self._orders.pop(handle, None)
        if order is not None and order.drive is not None:
            self._drive_orders.pop(order.drive, None)

    def _free_drives(self, avoid: int | None) -> list[int]:
        # a replacement waits for another drive: the one that failed may be faulty
        spare = avoid if self.drives > 1 else None
        return [d for d in range(self.drives) if d not in self._drive_orders and d != spare]

    async def _advance(self, job: Job) -> None:
        if job.job_id in self._cancelling:
            return
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
        elif (caps := self.driver.capabilities()).one_merge_set_per_job and job.design_on(caps):
            # one robot job per distinct set of label values (PTBurn MergeField)
            for group in job.by_merge_set(waiting):
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
        order_id = order_id_for(job.job_id, next(self._ids))
        order = job.write_order(
            order_id,
            image=self.cache.path(job.spec.content_sha256),
            size_bytes=self.cache.size(job.spec.content_sha256),
            copies=copies,
            drive=drive,
            design=job.design_on(self.driver.capabilities()),
        )
        if self.per_drive:
            try:
                self.ledger.take(media)
            except MediaExhausted:
                return False
        try:
            handle = await self.driver.submit(order)
        except Exception as exc:  # any failure fails this disc, not the device
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
        self._orders[handle] = Order(handle, job.job_id, [c.index for c in copies], drive)
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
        return drive_states(
            self.drives, self.per_drive, self._orders, self._drive_orders, self.jobs
        )

    def busy(self) -> bool:
        return bool(self._orders)

    def paused(self) -> bool:
        return any(j.state is JobState.PAUSED for j in self.jobs.values())

    async def close(self) -> None:
        self._flush()

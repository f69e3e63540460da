"""Shared machinery of per-drive drivers: one asyncio task per disc.

Invariants: each handle owns one disc on one drive; the task's native phase
is translated by the subclass's ``STATE_LOOKUP``; an exception out of
``_write`` becomes a failed disc (``BurnFailed`` keeps its phase: a failure
while verifying is ``failed-verify``), never a crashed agent; a cancelled
disc reports ``cancelled``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from discflow.agent.drivers._base import (
    Capabilities,
    DeviceReport,
    DiscReport,
    DriverSettings,
    WriteOrder,
    WriteReport,
    check_media,
)
from discflow.domain import CopyState, JobState
from discflow.errors import BurnFailed, DiscflowError, NotFound

__all__ = ["DiscTask", "TaskDriver"]


@dataclass(slots=True)
class DiscTask:
    """The mutable progress of one disc, written by the driver's task."""

    order: WriteOrder
    phase: str
    progress: float = 0.0
    output: str | None = None
    error: str | None = None
    cancelled: bool = False
    blank_used: bool = True  # a media check refused the disc before anything was written


class TaskDriver:
    """Base of image, xorriso and sim. Subclasses define the phases and ``_write``."""

    STATE_LOOKUP: Mapping[str, CopyState]
    FAILED_PHASE = {CopyState.WRITING: "write-error", CopyState.VERIFYING: "verify-error"}

    def __init__(self, settings: DriverSettings) -> None:
        self.settings = settings
        self._discs: dict[str, DiscTask] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)

    def capabilities(self) -> Capabilities:
        return Capabilities(per_drive=True)

    def check_order(self, media: str, *, copies: int) -> None:
        check_media(self.capabilities(), media, device=self.settings.device_name)

    async def submit(self, order: WriteOrder) -> str:
        if order.drive is None or not 0 <= order.drive < self.settings.drives:
            raise BurnFailed(f"order {order.order_id} names no valid drive")
        handle = f"{order.order_id}#{next(self._ids)}"
        disc = DiscTask(order, phase=self.initial_phase)
        self._discs[handle] = disc
        self._tasks[handle] = asyncio.create_task(self._run(disc), name=handle)
        return handle

    initial_phase = "queued"

    async def _run(self, disc: DiscTask) -> None:
        try:
            await self._write(disc)
        except asyncio.CancelledError:
            disc.cancelled = True
            raise
        except DiscflowError as exc:
            state = self.STATE_LOOKUP.get(disc.phase, CopyState.WRITING)
            disc.phase = self.FAILED_PHASE.get(state, "write-error")
            disc.error = str(exc)
        except OSError as exc:
            disc.phase = "write-error"
            disc.error = f"{exc.strerror or exc} ({exc.filename or 'device'})"
        except Exception as exc:  # a crash fails this disc, never the agent
            disc.phase = "write-error"
            disc.error = f"the driver failed: {type(exc).__name__}: {exc}"

    async def _write(self, disc: DiscTask) -> None:
        raise BurnFailed(f"{type(self).__name__} cannot write")

    def _disc(self, handle: str) -> DiscTask:
        try:
            return self._discs[handle]
        except KeyError:
            raise NotFound(f"no disc with handle {handle!r} on this driver") from None

    async def poll(self, handle: str) -> WriteReport:
        disc = self._disc(handle)
        task = self._tasks[handle]
        if disc.cancelled or (task.done() and task.cancelled()):
            return WriteReport(JobState.CANCELLED, (DiscReport(CopyState.CANCELLED),))
        state = self.STATE_LOOKUP[disc.phase]
        report = DiscReport(state, disc.progress, disc.output, disc.error, disc.blank_used)
        if not task.done():
            job = JobState.QUEUED if state is CopyState.PENDING else JobState.RUNNING
            return WriteReport(job, (report,) if job is JobState.RUNNING else (), disc.progress)
        self._forget_later(handle)
        job = JobState.DONE if state is CopyState.GOOD else JobState.FAILED
        return WriteReport(job, (report,), 1.0, disc.error)

    def _forget_later(self, handle: str) -> None:
        # keep finished discs for a while so repeated polls agree
        if len(self._discs) > 256:
            for old in [h for h, t in self._tasks.items() if t.done()][:128]:
                self._discs.pop(old, None)
                self._tasks.pop(old, None)

    async def cancel(self, handle: str) -> bool:
        task = self._tasks.get(handle)
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        return True  # the agent's own task: stopping it is the confirmation

    async def device_status(self) -> DeviceReport:
        return DeviceReport(ok=True, message="ready")

    async def close(self) -> None:
        for handle in list(self._tasks):
            await self.cancel(handle)

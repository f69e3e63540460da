"""The dispatcher: snapshot -> plan -> act, each time something changes.

Invariants:
- Every decision is written to the store (job row, request transition, event)
  in one transaction *before* the agent is told, and the job id is the agent's
  idempotency key: a dispatcher killed at any point resumes from the store and
  the agents without burning anything twice.
- Any number of dispatchers may share one database. The holder of the
  ``planner`` lease plans, watches the floor and prints labels; every
  dispatcher follows and pushes only the jobs it leases, and takes over jobs
  whose lease ran out (their dispatcher died).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from discflow import store
from discflow.archive import BlobStore
from discflow.dispatcher._client import AgentRefused
from discflow.dispatcher._floor import LOST_OFFLINE, Floor
from discflow.dispatcher._printing import (
    label_format,
    print_pending,
    printer_from_setting,
    queue_label,
)
from discflow.dispatcher._pusher import Pusher
from discflow.dispatcher._settings import DispatcherSettings
from discflow.dispatcher._snapshot import device_view, snapshot
from discflow.domain import RequestState
from discflow.errors import DiscflowError
from discflow.scheduler import OperatorSettings, Plan, plan_discflow
from discflow.store import CopyCounts, Database, Event, Job, Notice, Request

log = logging.getLogger("discflow.dispatcher")

PLANNER_LEASE = "planner"
_AGENT_FINAL = ("done", "failed", "cancelled", "interrupted")
_OPEN_REQUEST_STATES = (
    RequestState.QUEUED.value,
    RequestState.ASSIGNED.value,
    RequestState.BURNING.value,
    RequestState.VERIFYING.value,
)


class Dispatcher:
    """Runs inside ``discflow serve`` or alone as ``discflow dispatch``."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        settings: DispatcherSettings | None = None,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.settings = settings or DispatcherSettings()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        self.printer = printer_from_setting(
            self.settings.label_printer, data_dir=self.settings.data_dir
        )
        self.floor = Floor(database, self.settings, self._settle)
        self.pusher = Pusher(
            database, blobs, owner=self.owner, clock=clock, mirror=self._mirror, settle=self._settle
        )
        self.leader = False
        self._wake = asyncio.Event()
        self._last_event_id = 0

    # -- running -------------------------------------------------------------

    def wake(self) -> None:
        """Something changed (a request arrived, a device reported): plan again now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("dispatcher %s started", self.owner)
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except DiscflowError as error:
                    log.warning("dispatch round failed: %s", error)
                except Exception:  # a bug must not stop the floor; log it loudly and go on
                    log.exception("dispatch round crashed")
                await self._sleep_until_change(stop)
        finally:
            await self.close()

    async def _sleep_until_change(self, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + self.settings.idle_poll_s
        while time.monotonic() < deadline and not stop.is_set():
            if self._wake.is_set():
                self._wake.clear()
                return
            if self._new_events():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.2)

    def _new_events(self) -> bool:
        """Cheap change feed for a dispatcher in another process: the task log grew."""
        with self.database.transaction() as session:
            newest = session.scalar(select(func.max(Event.id))) or 0
        if newest > self._last_event_id:
            self._last_event_id = newest
            return True
        return False

    async def close(self) -> None:
        await self.pusher.close()
        if self.leader:
            with self.database.transaction() as session:
                store.release_lease(session, PLANNER_LEASE, owner=self.owner)

    # -- one round -----------------------------------------------------------

    async def tick(self) -> None:
        with self.database.transaction() as session:
            self.leader = store.acquire_lease(
                session, PLANNER_LEASE, owner=self.owner, ttl_s=self.settings.lease_s
            )
            store.claim_jobs(
                session, owner=self.owner, lease_s=self.settings.lease_s, active=store.JOB_ACTIVE
            )
        self.pusher.refresh()
        await self._follow_jobs()
        await self._cancel_withdrawn()
        if self.leader:
            self.floor.watch()
            await self._recheck_lost()
            self._plan_and_assign()
            await print_pending(
                self.database,
                self.printer,
                fmt=label_format(self.settings.label_format),
                batch=self.settings.label_mode == "batch",
            )
            await self.floor.stop_failing_jobs(self.pusher.links)
            await self.floor.flush_webhooks()
        self.pusher.kick()

    # -- following jobs on the agents -----------------------------------------

    def _my_jobs(self) -> list[tuple[str, str]]:
        with self.database.transaction() as session:
            return [
                (j.id, j.device)
                for j in store.active_jobs(session)
                if j.state != "pending" and j.lease_owner == self.owner
            ]

    async def _follow_jobs(self) -> None:
        async def fetch(job_id: str, device: str) -> tuple[str, dict[str, Any] | None | str]:
            link = self.pusher.links.get(device)
            if link is None:
                return job_id, "unreachable"
            try:
                return job_id, await link.client.job(job_id)
            except DiscflowError:
                return job_id, "unreachable"

        answers = await asyncio.gather(*(fetch(j, d) for j, d in self._my_jobs()))
        for job_id, answer in answers:
            if answer == "unreachable":
                continue
            try:
                with self.database.transaction() as session:
                    self._apply_answer(session, job_id, answer)
            except DiscflowError as error:  # one bad job must not stall the others
                log.warning("job %s: %s", job_id, error)
            except SQLAlchemyError:  # nor can a database refusal on one job (logged in full)
                log.exception("job %s could not be recorded", job_id)

    def _apply_answer(
        self, session: Session, job_id: str, answer: dict[str, Any] | None | str
    ) -> None:
        job = session.get(Job, job_id)
        if job is None or job.state not in store.JOB_ACTIVE:
            return
        if answer is None or isinstance(answer, str):
            store.update_job(
                session,
                job,
                state="lost",
                counts=CopyCounts(job.good_copies, job.failed_copies, False, False),
                error=f"{job.device} no longer knows this job",
            )
            self._settle(session, job.request_id)
            return
        self._mirror(session, job, answer)

    def _mirror(self, session: Session, job: Job, answer: dict[str, Any]) -> None:
        copies = answer.get("copies") or []
        states = [str(c.get("state", "")) for c in copies]
        counts = CopyCounts(
            good=states.count("good"),
            failed=sum(1 for s in states if s.startswith("failed")),
            writing="writing" in states,
            verifying="verifying" in states,
        )
        state = str(answer.get("state", job.state))
        errors = [str(c.get("error")) for c in copies if c.get("error")]
        error = str(answer.get("error") or (errors[-1] if errors else ""))
        store.update_job(session, job, state=state, counts=counts, error=error)
        self._settle(
            session,
            job.request_id,
            writing=counts.writing or state == "running",
            verifying=counts.verifying,
        )

    def _settle(
        self, session: Session, request_id: str, *, writing: bool = False, verifying: bool = False
    ) -> None:
        # FOR UPDATE: two dispatchers settling one split request take turns (PostgreSQL)
        request = session.scalar(select(Request).where(Request.id == request_id).with_for_update())
        if request is None:
            return
        before = request.state
        store.settle_request(
            session,
            request,
            max_failed_discs=self.settings.max_failed_discs,
            writing=writing,
            verifying=verifying,
        )
        if request.state == RequestState.DONE.value and before != request.state:
            queue_label(
                session, request, printer=self.printer.name, sheet=self.settings.label_sheet
            )

    # -- jobs given up while their device was silent --------------------------

    async def _recheck_lost(self) -> None:
        """A device declared offline may have burned discs before it went silent (or,
        cut off from us, while silent). When it reports again, stop what is left of
        each job it lost and count the discs it did make, so no disc goes unrecorded
        and a request still waiting does not burn them again."""
        with self.database.transaction() as session:
            lost = [
                (job.id, job.device)
                for job in session.scalars(
                    select(Job)
                    .join(store.Device, Job.device == store.Device.name)
                    .where(
                        Job.state == "lost",
                        Job.error.contains(LOST_OFFLINE),
                        store.Device.availability != "offline",
                    )
                )
            ]
        for job_id, device in lost:
            link = self.pusher.links.get(device)
            if link is None:
                continue
            try:
                answer = await link.client.job(job_id)
                if answer is not None and answer.get("state") not in _AGENT_FINAL:
                    with contextlib.suppress(AgentRefused):
                        await link.client.cancel(job_id)
                    answer = await link.client.job(job_id)
            except DiscflowError as error:
                log.info("lost job %s on %s: not rechecked yet: %s", job_id, device, error)
                continue
            with self.database.transaction() as session:
                job = session.get(Job, job_id)
                if job is None or job.state != "lost":
                    continue
                if answer is None:
                    job.error = f"{device} came back without this job; nothing was burned"
                    continue
                copies = answer.get("copies") or []
                states = [str(c.get("state", "")) for c in copies]
                store.update_job(
                    session,
                    job,
                    state=str(answer.get("state", "interrupted")),
                    counts=CopyCounts(
                        good=states.count("good"),
                        failed=sum(1 for s in states if s.startswith("failed")),
                        writing=False,
                        verifying=False,
                    ),
                    error=f"{device} came back after its jobs were moved; its discs are counted",
                )
                self._settle(session, job.request_id)

    # -- cancellations -------------------------------------------------------

    async def _cancel_withdrawn(self) -> None:
        with self.database.transaction() as session:
            doomed = [
                (j.id, j.device)
                for j, _ in session.execute(
                    select(Job, Request)
                    .join(Request, Job.request_id == Request.id)
                    .where(
                        Job.state.in_(store.JOB_ACTIVE),
                        Request.state == "cancelled",
                        Job.lease_owner == self.owner,
                    )
                ).tuples()
            ]
        for job_id, device in doomed:
            link = self.pusher.links.get(device)
            try:
                if link is not None:
                    await link.client.cancel(job_id)
            except DiscflowError as error:
                log.info("cancel of %s on %s deferred: %s", job_id, device, error)
                continue
            with self.database.transaction() as session:
                job = session.get(Job, job_id)
                if job is not None and job.state in store.JOB_ACTIVE:
                    store.update_job(
                        session,
                        job,
                        state="cancelled",
                        counts=CopyCounts(job.good_copies, job.failed_copies, False, False),
                        error="the request was cancelled",
                    )

    # -- planning (the leader only) ------------------------------------------

    def _plan_and_assign(self) -> None:
        now = self.clock()
        with self.database.transaction() as session:
            requests = list(
                session.scalars(
                    select(Request)
                    .where(Request.state.in_(_OPEN_REQUEST_STATES))
                    .options(selectinload(Request.content))
                    .order_by(Request.created_at, Request.id)
                )
            )
            open_jobs = store.active_jobs(session)
            in_flight: dict[str, int] = {}
            for job in open_jobs:
                in_flight[job.request_id] = in_flight.get(job.request_id, 0) + max(
                    0, job.copies - job.good_copies
                )
            todo = [(r, r.copies - r.good_copies - in_flight.get(r.id, 0)) for r in requests]
            todo = [(r, n) for r, n in todo if n > 0]
            if not todo:
                return
            contents = {r.id: r.content for r in requests}
            pending_reload = {
                (n.device, n.media)
                for n in session.scalars(
                    select(Notice).where(
                        Notice.kind.in_(("media-low", "media-out")), Notice.cleared_at.is_(None)
                    )
                )
            }
            views = []
            for device in store.list_devices(session):
                if not device.drives:
                    continue
                jobs = [
                    (j, contents[j.request_id].sha256, contents[j.request_id].size_bytes)
                    for j in open_jobs
                    if j.device == device.name and j.request_id in contents
                ]
                link = self.pusher.links.get(device.name)
                views.append(
                    device_view(
                        device,
                        now=now,
                        jobs=jobs,
                        uploads=link.uploads if link else {},
                        reload_pending={
                            m for d, m in pending_reload if d == device.name and m is not None
                        },
                    )
                )
            operator = OperatorSettings(
                reload_count=self.settings.reload_count, reload_delay_s=self.settings.reload_delay_s
            )
            state = snapshot(now=now, devices=views, requests=todo, operator=operator)
            self._carry_out(session, plan_discflow(state), {r.id: r for r, _ in todo})

    def _carry_out(self, session: Session, decided: Plan, by_id: dict[str, Request]) -> None:
        for eviction in decided.evictions:
            link = self.pusher.links.get(eviction.device)
            if link is not None and eviction.content not in link.evictions:
                link.evictions.append(eviction.content)
        for assignment in decided.assignments:
            store.create_job(
                session,
                by_id[assignment.request],
                device=assignment.device,
                copies=assignment.copies,
                owner=self.owner,
                lease_s=self.settings.lease_s,
            )
        for notice in decided.notices:
            device = session.get(store.Device, notice.device)
            loaded_total = (
                next((m.loaded_total for m in device.media if m.media == notice.media), 0)
                if device
                else 0
            )
            self.floor.notify(
                session,
                "media-out",
                notice.message,
                severity="error",
                device=notice.device,
                media=notice.media,
                data={
                    "blanks_needed": notice.blanks_needed,
                    "loaded_total": loaded_total,
                    "requests_waiting": notice.requests_waiting,
                },
            )
        for refused in decided.unplaceable:
            request = by_id[refused.request]
            if request.reason == refused.reason:
                continue
            request.reason = refused.reason
            store.record(
                session,
                "request.unplaceable",
                refused.reason,
                order_id=request.order_id,
                request_id=request.id,
            )
            self.floor.notify(
                session,
                "request-unplaceable",
                f"{refused.reason} (request {request.id})",
                severity="error",
                media=request.media,
            )

"""The dispatcher: snapshot -> plan -> act, each time something changes.

Invariants:
- Every decision is written to the store (job row, request transition, event)
  in one transaction *before* the agent is told, and the job id is the agent's
  idempotency key: a dispatcher killed at any point resumes from the store and
  the agents without burning anything twice.
- Only jobs this dispatcher leases (or whose lease ran out) are acted on.
- Devices that stop heartbeating go offline; after a grace period their
  unfinished jobs are marked lost and the copies return to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from discflow import store
from discflow.archive import BlobStore
from discflow.dispatcher._client import AgentClient, AgentRefused
from discflow.dispatcher._printing import (
    label_format,
    print_pending,
    printer_from_setting,
    queue_label,
)
from discflow.dispatcher._snapshot import Upload, device_view, snapshot
from discflow.domain import RequestState
from discflow.errors import DeviceUnavailable, DiscflowError
from discflow.scheduler import OperatorSettings, Plan, plan_discflow
from discflow.settings import Settings
from discflow.store import CopyCounts, Database, Device, Event, Job, Notice, Request

log = logging.getLogger("discflow.dispatcher")

_OPEN_REQUEST_STATES = (
    RequestState.QUEUED.value,
    RequestState.ASSIGNED.value,
    RequestState.BURNING.value,
    RequestState.VERIFYING.value,
)


@dataclass
class DispatcherSettings:
    lease_s: float = 30.0
    heartbeat_offline_s: float = 15.0
    offline_grace_s: float = 30.0
    max_failed_discs: int = 5
    idle_poll_s: float = 1.0
    reload_count: int = 100
    reload_delay_s: float = 900.0
    notice_webhook_url: str = ""
    label_printer: str = ""
    label_sheet: str = "4x6"
    label_format: str = "pdf"
    data_dir: Path = Path("./discflow-data")


def dispatcher_settings(settings: Settings) -> DispatcherSettings:
    return DispatcherSettings(
        lease_s=settings.lease_s,
        heartbeat_offline_s=settings.heartbeat_offline_s,
        offline_grace_s=settings.offline_grace_s,
        max_failed_discs=settings.max_failed_discs,
        reload_count=settings.reload_count,
        notice_webhook_url=settings.notice_webhook_url,
        label_printer=settings.label_printer,
        label_sheet=settings.label_sheet,
        label_format=settings.label_format,
        data_dir=settings.data_dir,
    )


@dataclass
class _DeviceLink:
    client: AgentClient
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    uploads: dict[str, Upload] = field(default_factory=dict)
    evictions: list[str] = field(default_factory=list)
    token: str = ""
    address: str = ""


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
        on_request_done: Callable[[str], None] | None = None,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.settings = settings or DispatcherSettings()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        self.on_request_done = on_request_done
        self._wake = asyncio.Event()
        self._links: dict[str, _DeviceLink] = {}
        self._last_event_id = 0
        self._outbox: list[dict[str, Any]] = []
        self.printer = printer_from_setting(
            self.settings.label_printer, data_dir=self.settings.data_dir
        )
        self._stopping = False

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
        self._stopping = True
        for link in self._links.values():
            if link.task is not None:
                link.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await link.task
            await link.client.close()
        self._links.clear()

    # -- one round -----------------------------------------------------------

    async def tick(self) -> None:
        self._refresh_links()
        await self._follow_jobs()
        self._watch_devices()
        await self._cancel_withdrawn()
        decided = self._plan_and_assign()
        for name in decided:
            self._links[name].wake.set()
        await print_pending(
            self.database, self.printer, fmt=label_format(self.settings.label_format)
        )
        while self._outbox:
            await post_webhook(self.settings.notice_webhook_url, self._outbox.pop(0))
        for name, link in self._links.items():
            if link.task is None or link.task.done():
                link.task = asyncio.create_task(self._device_worker(name), name=f"push:{name}")
            link.wake.set()

    def _refresh_links(self) -> None:
        with self.database.transaction() as session:
            devices = store.list_devices(session)
            for device in devices:
                link = self._links.get(device.name)
                if device.agent_token is None:
                    continue
                if (
                    link is None
                    or link.token != device.agent_token
                    or (link.address != device.address)
                ):
                    if link is not None and link.task is not None:
                        link.task.cancel()
                    self._links[device.name] = _DeviceLink(
                        client=AgentClient(
                            name=device.name, base_url=device.address, token=device.agent_token
                        ),
                        token=device.agent_token,
                        address=device.address,
                    )

    # -- following jobs on the agents -----------------------------------------

    async def _follow_jobs(self) -> None:
        with self.database.transaction() as session:
            now = store.utcnow()
            jobs = [
                j
                for j in store.active_jobs(session)
                if j.state != "pending" and store.claimable(j, owner=self.owner, now=now)
            ]
            watched = [(j.id, j.device) for j in jobs]
            store.renew_leases(session, jobs, owner=self.owner, lease_s=self.settings.lease_s)

        async def fetch(job_id: str, device: str) -> tuple[str, dict[str, Any] | None | str]:
            link = self._links.get(device)
            if link is None:
                return job_id, "unreachable"
            try:
                return job_id, await link.client.job(job_id)
            except DiscflowError:
                return job_id, "unreachable"

        answers = await asyncio.gather(*(fetch(j, d) for j, d in watched))
        for job_id, answer in answers:
            if answer == "unreachable":
                continue
            try:
                with self.database.transaction() as session:
                    self._apply_answer(session, job_id, answer)
            except DiscflowError as error:  # one bad job must not stall the others
                log.warning("job %s: %s", job_id, error)

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
        self._settle(session, job.request_id, writing=counts.writing, verifying=counts.verifying)

    def _settle(
        self, session: Session, request_id: str, *, writing: bool = False, verifying: bool = False
    ) -> None:
        request = session.get(Request, request_id)
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
            if self.on_request_done is not None:
                self.on_request_done(request.id)

    # -- devices: offline, media levels --------------------------------------

    def _watch_devices(self) -> None:
        with self.database.transaction() as session:
            now = store.utcnow()
            silent_since = now - timedelta(seconds=self.settings.heartbeat_offline_s)
            for name in store.mark_offline_if_silent(session, older_than=silent_since):
                self._notify(
                    session,
                    "device-offline",
                    f"{name} stopped reporting; check its agent and network",
                    severity="error",
                    device=name,
                )
            grace = now - timedelta(seconds=self.settings.offline_grace_s)
            for device in store.list_devices(session):
                if device.availability != "offline":
                    store.clear_notices(
                        session,
                        kinds=("device-offline",),
                        device=device.name,
                        why=f"{device.name} is back",
                    )
                elif device.last_seen_at is None or device.last_seen_at < grace:
                    for job in store.active_jobs(session, device=device.name):
                        store.update_job(
                            session,
                            job,
                            state="lost",
                            counts=CopyCounts(job.good_copies, job.failed_copies, False, False),
                            error=f"{device.name} offline for over "
                            f"{self.settings.offline_grace_s:.0f} s",
                        )
                        self._settle(session, job.request_id)
                self._media_notices(session, device)

    def _media_notices(self, session: Session, device: Device) -> None:
        waiting = dict(
            session.execute(
                select(Request.media, func.count())
                .where(Request.state == "queued")
                .group_by(Request.media)
            )
            .tuples()
            .all()
        )
        for row in device.media:
            if row.loaded > row.low_threshold:
                # a reload reported by the agent clears what asked for it
                for notice in store.list_notices(session):
                    if (
                        notice.device == device.name
                        and notice.media == row.media
                        and notice.kind in ("media-low", "media-out")
                        and int(notice.data.get("loaded_total", 0)) < row.loaded_total
                    ):
                        store.clear_notices(
                            session,
                            kinds=(notice.kind,),
                            device=device.name,
                            media=row.media,
                            why=f"{row.loaded} {row.media} now in {device.name}",
                        )
                continue
            count = waiting.get(row.media, 0)
            reload = max(self.settings.reload_count, row.low_threshold * 2)
            tail = f": {count} requests waiting" if count else ""
            kind, severity = ("media-out", "error") if row.loaded == 0 else ("media-low", "warning")
            if kind == "media-out":
                store.clear_notices(
                    session,
                    kinds=("media-low",),
                    device=device.name,
                    media=row.media,
                    why="now out of media",
                )
            self._notify(
                session,
                kind,
                f"Load {reload} {row.media} into {device.name}{tail}",
                severity=severity,
                device=device.name,
                media=row.media,
                data={
                    "loaded": row.loaded,
                    "loaded_total": row.loaded_total,
                    "threshold": row.low_threshold,
                    "waiting": count,
                },
            )

    def _notify(
        self,
        session: Session,
        kind: str,
        message: str,
        *,
        severity: str,
        device: str | None = None,
        media: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        notice = store.raise_notice(
            session, kind, message, severity=severity, device=device, media=media, data=data
        )
        if notice in session.new and self.settings.notice_webhook_url:
            self._outbox.append(
                {
                    "kind": kind,
                    "severity": severity,
                    "device": device,
                    "media": media,
                    "message": message,
                    "data": data or {},
                }
            )

    # -- cancellations -------------------------------------------------------

    async def _cancel_withdrawn(self) -> None:
        with self.database.transaction() as session:
            doomed = [
                (j.id, j.device)
                for j, r in session.execute(
                    select(Job, Request)
                    .join(Request, Job.request_id == Request.id)
                    .where(Job.state.in_(store.JOB_ACTIVE), Request.state == "cancelled")
                ).tuples()
            ]
        for job_id, device in doomed:
            link = self._links.get(device)
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

    # -- planning ------------------------------------------------------------

    def _plan_and_assign(self) -> set[str]:
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
                return set()
            by_id = {r.id: r for r, _ in todo}
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
                jobs = [
                    (j, contents[j.request_id].sha256, contents[j.request_id].size_bytes)
                    for j in open_jobs
                    if j.device == device.name and j.request_id in contents
                ]
                link = self._links.get(device.name)
                if not device.drives:
                    continue
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
            decided = plan_discflow(state)
            return self._carry_out(session, decided, by_id)

    def _carry_out(self, session: Session, decided: Plan, by_id: dict[str, Request]) -> set[str]:
        touched: set[str] = set()
        for eviction in decided.evictions:
            link = self._links.get(eviction.device)
            if link is not None and eviction.content not in link.evictions:
                link.evictions.append(eviction.content)
        for assignment in decided.assignments:
            request = by_id[assignment.request]
            store.create_job(
                session,
                request,
                device=assignment.device,
                copies=assignment.copies,
                owner=self.owner,
                lease_s=self.settings.lease_s,
            )
            touched.add(assignment.device)
        for notice in decided.notices:
            device = session.get(Device, notice.device)
            loaded_total = (
                next((m.loaded_total for m in device.media if m.media == notice.media), 0)
                if device is not None
                else 0
            )
            self._notify(
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
            if request.reason != refused.reason:
                request.reason = refused.reason
                store.record(
                    session,
                    "request.unplaceable",
                    refused.reason,
                    order_id=request.order_id,
                    request_id=request.id,
                )
                self._notify(
                    session,
                    "request-unplaceable",
                    f"{refused.reason} (request {request.id})",
                    severity="error",
                    media=request.media,
                )
        return touched

    # -- pushing content and write commands to one device --------------------

    async def _device_worker(self, name: str) -> None:
        link = self._links[name]
        backoff = 0.5
        while not self._stopping:
            await link.wake.wait()
            link.wake.clear()
            try:
                await self._push(name, link)
                backoff = 0.5
            except DeviceUnavailable as error:
                log.info("%s: %s; retrying in %.1f s", name, error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                link.wake.set()

    async def _push(self, name: str, link: _DeviceLink) -> None:
        while link.evictions:
            sha = link.evictions[0]
            try:
                await link.client.evict(sha)
            except AgentRefused as error:
                log.info("%s kept %s: %s", name, sha[:12], error)
            link.evictions.pop(0)
        while True:
            with self.database.transaction() as session:
                now = store.utcnow()
                pending = [
                    j
                    for j in store.active_jobs(session, device=name)
                    if j.state == "pending" and store.claimable(j, owner=self.owner, now=now)
                ]
                if not pending:
                    return
                job = pending[0]
                request = session.get(Request, job.request_id)
                assert request is not None
                order = request.order
                command = {
                    "job_id": job.id,
                    "content_sha256": request.content.sha256,
                    "media": job.media,
                    "copies": job.copies,
                    "volume_name": request.content.volume_id or "DISCFLOW",
                    "verify": True,
                    "label": {
                        "title": request.content.title,
                        "order_id": order.id,
                        "request_id": request.id,
                        "customer": str(order.ship_to.get("name", "")),
                    },
                }
                size = request.content.size_bytes
            await self._ensure_cached(link, command["content_sha256"], size)  # type: ignore[arg-type]
            try:
                answer = await link.client.submit(command)
            except AgentRefused as error:
                with self.database.transaction() as session:
                    row = session.get(Job, command["job_id"])
                    assert row is not None
                    store.update_job(
                        session,
                        row,
                        state="failed",
                        counts=CopyCounts(0, 0, False, False),
                        error=f"{name} refused the job: {error}",
                    )
                    self._settle(session, row.request_id)
                continue
            with self.database.transaction() as session:
                row = session.get(Job, command["job_id"])
                if row is not None and row.state == "pending":
                    self._mirror(session, row, answer)
                    if row.state == "pending":
                        row.state = "queued"

    async def _ensure_cached(self, link: _DeviceLink, sha: str, size: int) -> None:
        complete, have = await link.client.cached_bytes(sha)
        if complete:
            return
        eta = self.clock() + (size - have) / 50_000_000
        link.uploads[sha] = Upload(sha256=sha, size_bytes=size, ready_s=eta)
        try:
            await link.client.upload(
                sha, total=size, offset=have, chunks=self.blobs.open_range(sha, have)
            )
        finally:
            link.uploads.pop(sha, None)
        with self.database.transaction() as session:
            store.record(
                session,
                "content.pushed",
                f"{size - have} bytes of {sha[:12]} sent to {link.client.name}",
                device=link.client.name,
                data={"sha256": sha, "resumed_at": have},
            )


async def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """Best effort: a webhook that is down must not hold up the floor."""
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            await client.post(url, json=payload)
    except httpx.HTTPError as error:
        log.warning("notice webhook %s failed: %s", url, error)

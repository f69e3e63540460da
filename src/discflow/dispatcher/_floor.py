"""The floor watch: devices that went silent, blank-media levels, operator notices.

Invariants: a device is offline once its heartbeats stop for
``heartbeat_offline_s``; after ``offline_grace_s`` more its unfinished jobs are
lost and their copies go back to the queue. A media notice is cleared only by
a reload the agent reported (``loaded_total`` grew), so a notice never
flickers while the count hovers near its threshold.

One notice per need: requests waiting for a media no usable device has raise
a single error notice ("media-out" with ``need``) on the device to reload,
however many devices ran dry; a device that is low or out while others serve
the queue gets a warning. Each media notice carries ``blanks`` (how many to
load) so the floor can offer "Loaded N" on the notice itself. A device whose
reasons stop it (cover open, jam...) has one "device-error" notice until they
clear.

Failure policy (as the robots' consoles offer it): a job with
``stop_job_after_failed_discs`` failed discs is stopped on its agent and its
device paused, so the discs still to make are planned on other devices; the
operator gets one error notice saying why and resumes the device after a look.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher._client import AgentRefused
from discflow.dispatcher._needs import (
    blocking_reasons,
    plural,
    stock_by_media,
    waiting_by_media,
)
from discflow.dispatcher._pusher import DeviceLink
from discflow.dispatcher._settings import DispatcherSettings
from discflow.domain import DispatchReason, DispatchState
from discflow.errors import DiscflowError
from discflow.store import (
    Database,
    Device,
    Job,
    Notice,
    PrintJob,
    Request,
    SettlePolicy,
)

log = logging.getLogger("discflow.dispatcher")


class Floor:
    def __init__(
        self, database: Database, settings: DispatcherSettings, policy: SettlePolicy
    ) -> None:
        self.database = database
        self.settings = settings
        self.policy = policy
        self.outbox: list[dict[str, Any]] = []
        self.to_stop: dict[str, str] = {}  # job id -> device, stopped by the failure policy
        # during ``watch``: the open notices, read once (plus those raised since), so the
        # per-device checks clear only what is open instead of querying per device
        self._seen: list[Notice] | None = None

    def _may_be_open(self, kind: str, device: str, media: str | None = None) -> bool:
        if self._seen is None:
            return True
        return any(
            n.kind == kind
            and n.device == device
            and n.cleared_at is None
            and media in (None, n.media)
            for n in self._seen
        )

    def _open_notices(self, session: Session) -> list[Notice]:
        if self._seen is None:
            return store.list_notices(session)
        return [n for n in self._seen if n.cleared_at is None]

    def watch(self) -> None:
        with self.database.transaction() as session:
            self._seen = list(session.scalars(select(Notice).where(Notice.cleared_at.is_(None))))
            try:
                self._watch(session)
            finally:
                self._seen = None

    def _watch(self, session: Session) -> None:
        now = store.utcnow()
        silent_since = now - timedelta(seconds=self.settings.heartbeat_offline_s)
        for name in store.mark_offline_if_silent(session, older_than=silent_since):
            self.notify(
                session,
                "device-offline",
                f"{name} stopped reporting; check its agent and network",
                severity="error",
                device=name,
            )
        grace = now - timedelta(seconds=self.settings.offline_grace_s)
        devices = store.list_devices(session)
        waiting, stock = waiting_by_media(session), stock_by_media(devices)
        self._clear_met_needs(session, stock)
        for device in devices:
            if device.availability != "offline":
                if self._may_be_open("device-offline", device.name):
                    store.clear_notices(
                        session,
                        kinds=("device-offline",),
                        device=device.name,
                        why=f"{device.name} is back",
                    )
            elif device.last_seen_at is None or device.last_seen_at < grace:
                self._lose_jobs(session, device)
            self._media_notices(session, device, waiting, stock)
            self._error_notice(session, device)
        self._failure_policy(session)
        self._ship_what_was_made(session)

    def _ship_what_was_made(self, session: Session) -> None:
        """A cancelled request with discs made, once none of its jobs still burns, gets
        its mailing label like a finished one: those discs ship."""
        still_burning = select(Job.id).where(
            Job.request_id == Request.id, Job.state.in_(store.JOB_ACTIVE)
        )
        labelled = select(PrintJob.id).where(PrintJob.request_id == Request.id)
        made = session.scalars(
            select(Request).where(
                Request.state == "cancelled",
                Request.good_copies > 0,
                ~still_burning.exists(),
                ~labelled.exists(),
            )
        ).all()
        if not made:
            return
        for request in made:
            store.queue_label(
                session, request, printer=self.policy.printer, sheet=self.policy.label_sheet
            )
            store.record(
                session,
                "label.queued",
                f"{request.good_copies} of {request.copies} discs were made before the "
                "cancellation; they ship with this label",
                order_id=request.order_id,
                request_id=request.id,
            )

    def _error_notice(self, session: Session, device: Device) -> None:
        stopping = blocking_reasons(device)
        if not stopping:
            if not self._may_be_open("device-error", device.name):
                return
            store.clear_notices(
                session, kinds=("device-error",), device=device.name, why=f"{device.name} is ready"
            )
            return
        said = "; ".join(
            str(r.get("message") or str(r.get("reason", "")).replace("-", " ")) for r in stopping
        )
        self.notify(
            session,
            "device-error",
            f"{device.name} stopped: {said}. Its work waits or goes to other devices",
            severity="error",
            device=device.name,
            data={"reasons": [str(r.get("reason")) for r in stopping]},
        )

    def _failure_policy(self, session: Session) -> None:
        limit = self.settings.stop_job_after_failed_discs
        if limit <= 0:
            return
        for job in store.active_jobs(session):
            if job.failed_copies < limit or job.id in self.to_stop:
                continue
            device = store.get_device(session, job.device)
            self.to_stop[job.id] = job.device
            if not device.paused:
                device.paused = True
                device.availability = "paused"
                store.record(
                    session,
                    "device.paused",
                    f"{job.device} paused: {job.failed_copies} discs of {job.id} failed",
                    device=job.device,
                    job_id=job.id,
                    actor="failure-policy",
                )
            left = job.copies - job.good_copies
            self.notify(
                session,
                "job-failed",
                f"{job.device}: job {job.id} stopped after {job.failed_copies} failed discs "
                f"({job.error or 'no reason given'}); its {left} discs left go to other "
                f"devices. Check {job.device}'s drives and blanks, then resume it",
                severity="error",
                device=job.device,
                data={"job": job.id, "failed": job.failed_copies, "limit": limit},
            )

    async def stop_failing_jobs(self, links: Mapping[str, DeviceLink]) -> None:
        """Stop on their agents the jobs the failure policy gave up on, and record what
        each agent says it burned before it stopped (its count, not ours)."""
        for job_id, device in list(self.to_stop.items()):
            link = links.get(device)
            if link is None:
                continue  # not linked yet: the next round tries again
            try:
                with contextlib.suppress(AgentRefused):  # already final there
                    await link.client.cancel(job_id)
                report = await link.client.job(job_id)
            except DiscflowError as error:
                log.info("stopping %s on %s deferred: %s", job_id, device, error)
                continue
            with self.database.transaction() as session:
                store.apply_agent_report(session, job_id, report, self.policy)
                job = session.get(Job, job_id)
                if job is None or job.state not in store.JOB_ACTIVE:
                    if job is not None and job.state == DispatchState.CANCELLED:
                        store.set_job_reason(
                            job,
                            DispatchReason.ABORTED_BY_SYSTEM,
                            f"stopped after {job.failed_copies} failed discs (failure policy)",
                        )
                    del self.to_stop[job_id]

    def _clear_met_needs(self, session: Session, stock: dict[str, int]) -> None:
        for notice in self._open_notices(session):
            media = notice.media or ""
            if notice.kind == "media-out" and notice.data.get("need") and stock.get(media, 0):
                store.clear_notices(
                    session,
                    kinds=("media-out",),
                    device=notice.device,
                    media=media,
                    why=f"{media} is loaded again",
                )

    def _lose_jobs(self, session: Session, device: Device) -> None:
        for job in store.active_jobs(session, device=device.name):
            store.lose_job(
                session,
                job,
                self.policy,
                error=f"{device.name} offline for over {self.settings.offline_grace_s:.0f} s",
                reason=DispatchReason.SERVICE_OFF_LINE,
            )

    def _media_notices(
        self,
        session: Session,
        device: Device,
        waiting: dict[str, tuple[int, int]],
        stock: dict[str, int],
    ) -> None:
        for row in device.media:
            if row.loaded > row.low_threshold:
                self._clear_after_reload(session, device, row.media, row.loaded, row.loaded_total)
                continue
            requests, discs = waiting.get(row.media, (0, 0))
            blanks = max(self.settings.reload_count, row.low_threshold * 2)
            data = {
                "loaded": row.loaded,
                "loaded_total": row.loaded_total,
                "threshold": row.low_threshold,
                "waiting": requests,
                "blanks": blanks,
            }
            if row.loaded == 0:
                if self._may_be_open("media-low", device.name, row.media):
                    store.clear_notices(
                        session,
                        kinds=("media-low",),
                        device=device.name,
                        media=row.media,
                        why="now out of media",
                    )
                if requests and not stock.get(row.media, 0):
                    self.media_needed(session, device=device.name, media=row.media, data=data)
                    continue
                kind = "media-out"
                tail = (
                    f"; {plural(requests, 'request')} waiting go to other devices meanwhile"
                    if requests
                    else "; nothing waits for it now"
                )
                message = f"{device.name} is out of {row.media}: load {blanks}{tail}"
            else:
                kind = "media-low"
                message = (
                    f"{row.media} low in {device.name}: {row.loaded} left "
                    f"(low at {row.low_threshold}); load {blanks}"
                )
            self.notify(
                session,
                kind,
                message,
                severity="warning",
                device=device.name,
                media=row.media,
                data=data,
            )

    def media_needed(
        self, session: Session, *, device: str, media: str, data: dict[str, Any]
    ) -> None:
        """Requests wait for ``media`` and no usable device has any: one error notice,
        on the first device asked for, however many devices ran dry."""
        waiting = waiting_by_media(session).get(media, (0, 0))
        open_need = next(
            (
                n
                for n in session.scalars(
                    select(Notice).where(
                        Notice.kind == "media-out",
                        Notice.media == media,
                        Notice.cleared_at.is_(None),
                    )
                )
                if n.data.get("need")
            ),
            None,
        )
        target = open_need.device if open_need is not None and open_need.device else device
        blanks = int(data.get("blanks") or data.get("blanks_needed") or self.settings.reload_count)
        requests, discs = waiting
        message = (
            f"Load {blanks} {media} into {target}: {plural(requests, 'request')} "
            f"({plural(discs, 'disc')}) waiting, no {media} left on any device"
        )
        base = dict(open_need.data) if open_need is not None and target != device else data
        notice = store.raise_notice(
            session,
            "media-out",
            message,
            severity="error",
            device=target,
            media=media,
            data={**base, "need": True, "waiting": requests, "discs": discs, "blanks": blanks},
        )
        self._to_webhook(session, notice)

    def _clear_after_reload(
        self, session: Session, device: Device, media: str, loaded: int, loaded_total: int
    ) -> None:
        for notice in self._open_notices(session):
            if (
                notice.device == device.name
                and notice.media == media
                and notice.kind in ("media-low", "media-out")
                and int(notice.data.get("loaded_total", 0)) < loaded_total
            ):
                store.clear_notices(
                    session,
                    kinds=(notice.kind,),
                    device=device.name,
                    media=media,
                    why=f"{loaded} {media} now in {device.name}",
                )

    def notify(
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
        """Raise (or refresh) a notice; new ones also go to the webhook, if any."""
        if kind == "media-out" and media and device and "blanks_needed" in (data or {}):
            self._planner_asks(session, device=device, media=media, data=data or {})
            return
        notice = store.raise_notice(
            session, kind, message, severity=severity, device=device, media=media, data=data
        )
        self._to_webhook(session, notice)

    def _planner_asks(
        self, session: Session, *, device: str, media: str, data: dict[str, Any]
    ) -> None:
        """The planner's "load N into D", worded from the facts it is about: one notice
        per need when nothing usable has that media, else the device's own notice."""
        devices = store.list_devices(session)
        waiting, stock = waiting_by_media(session), stock_by_media(devices)
        if waiting.get(media, (0, 0))[0] and not stock.get(media, 0):
            self.media_needed(session, device=device, media=media, data=data)
            return
        target = next((d for d in devices if d.name == device), None)
        row = next((r for r in target.media if r.media == media), None) if target else None
        if target is None or row is None:
            return
        if row.loaded <= row.low_threshold:
            self._media_notices(session, target, waiting, stock)
            return
        blanks = int(data.get("blanks_needed") or self.settings.reload_count)
        self.notify(
            session,
            "media-low",
            f"Load {blanks} {media} into {device}: its {row.loaded} left will not finish "
            "the work planned for it",
            severity="warning",
            device=device,
            media=media,
            data={"loaded": row.loaded, "loaded_total": row.loaded_total, "blanks": blanks},
        )

    def _to_webhook(self, session: Session, notice: Notice) -> None:
        if self._seen is not None:
            self._seen.append(notice)  # raised during this watch: a later check may clear it
        if notice in session.new and self.settings.notice_webhook_url:
            self.outbox.append(
                {
                    "kind": notice.kind,
                    "severity": notice.severity,
                    "device": notice.device,
                    "media": notice.media,
                    "message": notice.message,
                    "data": notice.data or {},
                }
            )

    async def flush_webhooks(self) -> None:
        while self.outbox:
            await post_webhook(self.settings.notice_webhook_url, self.outbox.pop(0))


async def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """Best effort: a webhook that is down must not hold up the floor."""
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            await client.post(url, json=payload)
    except httpx.HTTPError as error:
        log.warning("notice webhook %s failed: %s", url, error)

"""The floor watch: devices that went silent, blank-media levels, operator notices.

Invariants: a device is offline once its heartbeats stop for
``heartbeat_offline_s``; after ``offline_grace_s`` more its unfinished jobs are
lost and their copies go back to the queue. A media notice is cleared only by
a reload the agent reported (``loaded_total`` grew), so a notice never
flickers while the count hovers near its threshold.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher._settings import DispatcherSettings
from discflow.domain import DispatchReason
from discflow.store import Database, Device, Request, SettlePolicy

log = logging.getLogger("discflow.dispatcher")


class Floor:
    def __init__(
        self, database: Database, settings: DispatcherSettings, policy: SettlePolicy
    ) -> None:
        self.database = database
        self.settings = settings
        self.policy = policy
        self.outbox: list[dict[str, Any]] = []

    def watch(self) -> None:
        with self.database.transaction() as session:
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
            for device in store.list_devices(session):
                if device.availability != "offline":
                    store.clear_notices(
                        session,
                        kinds=("device-offline",),
                        device=device.name,
                        why=f"{device.name} is back",
                    )
                elif device.last_seen_at is None or device.last_seen_at < grace:
                    self._lose_jobs(session, device)
                self._media_notices(session, device)

    def _lose_jobs(self, session: Session, device: Device) -> None:
        for job in store.active_jobs(session, device=device.name):
            store.lose_job(
                session,
                job,
                self.policy,
                error=f"{device.name} offline for over {self.settings.offline_grace_s:.0f} s",
                reason=DispatchReason.SERVICE_OFF_LINE,
            )

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
                self._clear_after_reload(session, device, row.media, row.loaded, row.loaded_total)
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
            self.notify(
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

    def _clear_after_reload(
        self, session: Session, device: Device, media: str, loaded: int, loaded_total: int
    ) -> None:
        for notice in store.list_notices(session):
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
        notice = store.raise_notice(
            session, kind, message, severity=severity, device=device, media=media, data=data
        )
        if notice in session.new and self.settings.notice_webhook_url:
            self.outbox.append(
                {
                    "kind": kind,
                    "severity": severity,
                    "device": device,
                    "media": media,
                    "message": message,
                    "data": data or {},
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

"""Operator notices: what someone on the floor must see or do.

Invariants: at most one open notice per (kind, device, media); raising it again
updates its text, severity and data instead of piling up duplicates (so a
notice always says what the gauges say now). Raising, acknowledging and
clearing are each logged in the task log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.errors import InvalidInput, NotFound
from discflow.store._events import record
from discflow.store._tables import Notice
from discflow.store._types import utcnow

KINDS = (
    "media-low",
    "media-out",
    "device-offline",
    "device-error",
    "job-failed",
    "print-failed",
    "request-unplaceable",
)
SEVERITIES = ("info", "warning", "error")


def raise_notice(
    session: Session,
    kind: str,
    message: str,
    *,
    severity: str = "warning",
    device: str | None = None,
    media: str | None = None,
    data: dict[str, Any] | None = None,
) -> Notice:
    if kind not in KINDS or severity not in SEVERITIES:
        raise InvalidInput(f"unknown notice kind {kind!r} or severity {severity!r}")
    notice = session.scalar(
        select(Notice).where(
            Notice.kind == kind,
            Notice.device == device,
            Notice.media == media,
            Notice.cleared_at.is_(None),
        )
    )
    if notice is not None:
        if (notice.message, notice.severity, notice.data) != (message, severity, data or {}):
            notice.message = message
            notice.severity = severity
            notice.data = data or {}
        return notice
    notice = Notice(
        kind=kind, severity=severity, device=device, media=media, message=message, data=data or {}
    )
    session.add(notice)
    record(session, f"notice.{kind}", message, device=device, data={"media": media, **(data or {})})
    return notice


def clear_notices(
    session: Session,
    *,
    kinds: tuple[str, ...],
    device: str | None = None,
    media: str | None = None,
    why: str = "",
) -> int:
    query = select(Notice).where(Notice.kind.in_(kinds), Notice.cleared_at.is_(None))
    if device is not None:
        query = query.where(Notice.device == device)
    if media is not None:
        query = query.where(Notice.media == media)
    cleared = 0
    for notice in session.scalars(query):
        notice.cleared_at = utcnow()
        record(
            session,
            "notice.cleared",
            why or f"cleared: {notice.message}",
            device=notice.device,
            data={"notice_id": notice.id, "kind": notice.kind},
        )
        cleared += 1
    return cleared


def acknowledge_notice(session: Session, notice_id: int, *, actor: str) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"no notice with id {notice_id}")
    if notice.acknowledged_at is None:
        notice.acknowledged_at = utcnow()
        record(
            session,
            "notice.acknowledged",
            notice.message,
            device=notice.device,
            actor=actor,
            data={"notice_id": notice.id},
        )
    return notice


def list_notices(session: Session, *, open_only: bool = True, limit: int = 200) -> list[Notice]:
    query = select(Notice)
    if open_only:
        query = query.where(Notice.cleared_at.is_(None))
    return list(session.scalars(query.order_by(Notice.id.desc()).limit(limit)))

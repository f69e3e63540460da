"""The task log: append-only events written in the caller's transaction.

Invariant: ``record`` only adds a row to the session; the caller's commit makes
the state change and its event durable together, or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.store._tables import Event

RECORDED_FLAG = "discflow_events_recorded"


def _printable(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: show it as U+FFFD so the log keeps the entry."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def record(
    session: Session,
    type: str,
    message: str = "",
    *,
    order_id: str | None = None,
    request_id: str | None = None,
    device: str | None = None,
    content_id: str | None = None,
    job_id: str | None = None,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> Event:
    message = _printable(message)
    data = _printable(data or {})
    event = Event(
        type=type,
        message=message,
        order_id=order_id,
        request_id=request_id,
        device=device,
        content_id=content_id,
        job_id=job_id,
        actor=_printable(actor),
        data=data or {},
    )
    session.add(event)
    session.info[RECORDED_FLAG] = True  # announced on commit (store._feed)
    return event


@dataclass(frozen=True, slots=True)
class EventFilter:
    order_id: str | None = None
    request_id: str | None = None
    device: str | None = None
    type: str | None = None
    after_id: int = 0
    since: datetime | None = None
    limit: int = 100


def list_events(session: Session, flt: EventFilter) -> list[Event]:
    """Oldest first, from ``after_id`` on (keyset paging: stable while the log grows)."""
    query = select(Event).where(Event.id > flt.after_id)
    if flt.order_id:
        query = query.where(Event.order_id == flt.order_id)
    if flt.request_id:
        query = query.where(Event.request_id == flt.request_id)
    if flt.device:
        query = query.where(Event.device == flt.device)
    if flt.type:
        query = query.where(Event.type == flt.type)
    if flt.since:
        query = query.where(Event.at >= flt.since)
    return list(session.scalars(query.order_by(Event.id).limit(flt.limit)))

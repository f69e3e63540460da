"""Why a request waits and when it should be ready, in the customer's words.

Invariants:
- Read-only over the device records the heartbeats keep fresh: the same
  facts the floor shows, so the customer and the operator are never told
  different stories.
- The ETA is the planner's when every disc still to make is in a planned job
  (``jobs.planned_end_at``, the plan's end of its last disc). Otherwise it is
  an estimate the customer can plan by, not a promise: the discs of the same
  media queued ahead, the drives that take that media, and each device's own
  seconds per disc (its overhead plus the content's size over its write speed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow import store
from discflow.domain import REQUEST_FINAL, RequestState, can_burn
from discflow.store import Device, Job, Order
from discflow.store import Request as DiscRequest
from discflow.web.pages._reasons import reasons_of

_DOWN = ("offline", "error")


@dataclass(frozen=True, slots=True)
class Outlook:
    waiting_for: str  # "" when nothing holds the request back
    ready_by: datetime | None


def usable(device: Device) -> bool:
    """A device that may get work now (online, not paused, no blocking reason)."""
    return device.availability not in _DOWN and not device.paused and can_burn(reasons_of(device))


def blanks(device: Device, media: str) -> int:
    return next((row.loaded for row in device.media if row.media == media), 0)


def waiting_for(request: DiscRequest, devices: Sequence[Device]) -> str:
    """Why a request that is not being burned yet waits, or "" if it need not."""
    if RequestState(request.state) == RequestState.HELD:
        return f"on hold: {request.reason}" if request.reason else "on hold"
    if RequestState(request.state) not in (RequestState.RECEIVED, RequestState.QUEUED):
        return ""
    taking = [d for d in devices if any(row.media == request.media for row in d.media)]
    if not taking:
        return f"waiting: no disc burner here takes {request.media} yet"
    able = [d for d in taking if usable(d)]
    if not able:
        return f"waiting for a {request.media} burner to be back in service"
    if not any(blanks(d, request.media) > 0 for d in able):
        return f"waiting for {request.media} to be loaded"
    return "waiting for a free disc burner"


def _seconds_per_disc(device: Device, media: str, size_bytes: int) -> float | None:
    row = next((r for r in device.media if r.media == media), None)
    if row is None or row.write_Bps <= 0:
        return None
    return row.overhead_s + size_bytes / row.write_Bps


def outlook(
    request: DiscRequest,
    *,
    devices: Sequence[Device],
    ahead_discs: int,
    size_bytes: int,
    now: datetime,
    planned_end: datetime | None = None,
) -> Outlook:
    """The waiting reason and an estimated time the request's discs are all made."""
    if RequestState(request.state) in REQUEST_FINAL:
        return Outlook("", None)
    reason = waiting_for(request, devices)
    if RequestState(request.state) == RequestState.HELD:
        return Outlook(reason, None)  # no estimate until it is released
    if planned_end is not None:
        return Outlook(reason, max(planned_end, now))
    rates = []
    for device in devices:
        per_disc = _seconds_per_disc(device, request.media, size_bytes)
        if per_disc is not None and usable(device) and blanks(device, request.media) > 0:
            rates.append(max(1, len(device.drives)) / per_disc)
    if not rates:
        return Outlook(reason, None)
    left = max(0, request.copies - request.good_copies) + ahead_discs
    return Outlook(reason, now + timedelta(seconds=left / sum(rates)))


def describe_eta(ready_by: datetime | None, now: datetime) -> str:
    if ready_by is None:
        return "no estimate yet"
    minutes = max(1, round((ready_by - now).total_seconds() / 60))
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {round(minutes / 60)} h"


def shown_state(order: Order) -> str:
    """The order's state as people read it: a cancelled order some discs of which were
    made says so (those discs ship with a label)."""
    state = store.order_state(order)
    made = sum(r.good_copies for r in order.requests)
    if made and any(r.state == RequestState.CANCELLED.value for r in order.requests):
        if all(RequestState(r.state) in REQUEST_FINAL for r in order.requests):
            return "partly made"
    return state


def planned_ends(session: Session, requests: list[DiscRequest]) -> dict[str, datetime]:
    """Per request, the plan's end of its last disc, when its planned jobs cover every
    disc still to make."""
    ids = [r.id for r in requests]
    jobs = session.scalars(
        select(Job).where(Job.request_id.in_(ids), Job.state.in_(store.JOB_ACTIVE))
    ).all()
    covered: dict[str, int] = {}
    ends: dict[str, datetime] = {}
    unplanned: set[str] = set()
    for job in jobs:
        covered[job.request_id] = covered.get(job.request_id, 0) + job.copies - job.good_copies
        if job.planned_end_at is None:
            unplanned.add(job.request_id)
        else:
            ends[job.request_id] = max(
                ends.get(job.request_id, job.planned_end_at), job.planned_end_at
            )
    return {
        r.id: ends[r.id]
        for r in requests
        if r.id in ends
        and r.id not in unplanned
        and covered.get(r.id, 0) >= r.copies - r.good_copies
    }

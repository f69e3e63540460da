"""What agents report, applied: a job's mirror, its request settled, its label queued.

Invariants:
- ``apply_agent_report`` is the only way an agent's word reaches the store: the
  job row, the request's counts and state, the label to print and the events
  all change in the caller's one transaction, so a crash keeps all or none.
- The request row is locked (``FOR UPDATE`` on PostgreSQL) while it is
  settled, so two dispatchers settling one split request take turns.
- The queries the dispatcher runs each round live here too; its loops hold
  no SQL.
- Planners of different sites plan the same pooled requests at once: before
  creating jobs a planner claims the requests (``claim_requests``: rows locked
  in id order, copies still unplanned counted after the lock), so no request
  gets more copies planned than it needs. On SQLite, which has no row locks,
  the claim takes the database's write lock before it counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from discflow.domain import (
    DISPATCH_ACTIVE,
    JOB_LIFECYCLE,
    Availability,
    CopyState,
    DispatchReason,
    DispatchState,
    Priority,
    RequestState,
    check_volume_name,
)
from discflow.protocol import DiscLabel, JobCreate, JobOut
from discflow.store._holds import locked_requests
from discflow.store._jobs import JOB_ACTIVE, CopyCounts, job_state, settle_request, update_job
from discflow.store._print_queue import queue_label
from discflow.store._tables import Device, Job, Notice, Request

log = logging.getLogger("discflow.store.dispatch")
T = TypeVar("T")

__all__ = [
    "SettlePolicy",
    "apply_agent_report",
    "apply_returned_report",
    "cancel_job",
    "claim_requests",
    "devices_with_pending_jobs",
    "jobs_to_follow",
    "lose_job",
    "lost_jobs_to_recheck",
    "next_command",
    "open_requests",
    "pending_reloads",
    "refuse_job",
    "settle",
    "withdrawn_jobs",
]

_FAILED_COPY = frozenset({CopyState.FAILED_WRITE, CopyState.FAILED_VERIFY})
_OPEN_REQUEST_STATES = (
    RequestState.QUEUED,
    RequestState.ASSIGNED,
    RequestState.BURNING,
    RequestState.VERIFYING,
)


@dataclass(frozen=True, slots=True)
class SettlePolicy:
    """How a settled request is judged and where its label goes."""

    max_failed_discs: int
    printer: str
    label_sheet: str


def counts_of(report: JobOut, *, in_progress: bool = True) -> CopyCounts:
    states = report.copy_states()
    return CopyCounts(
        good=states.count(CopyState.GOOD),
        failed=sum(1 for state in states if state in _FAILED_COPY),
        writing=in_progress and CopyState.WRITING in states,
        verifying=in_progress and CopyState.VERIFYING in states,
    )


def settle(
    session: Session,
    request_id: str,
    policy: SettlePolicy,
    *,
    writing: bool = False,
    verifying: bool = False,
) -> None:
    """Recompute a request from its jobs; queue its label when it just became done."""
    request = session.scalar(select(Request).where(Request.id == request_id).with_for_update())
    if request is None:
        return
    before = request.state
    settle_request(
        session,
        request,
        max_failed_discs=policy.max_failed_discs,
        writing=writing,
        verifying=verifying,
    )
    if request.state == RequestState.DONE and before != request.state:
        queue_label(session, request, printer=policy.printer, sheet=policy.label_sheet)


def apply_agent_report(
    session: Session, job_id: str, report: JobOut | None, policy: SettlePolicy
) -> None:
    """The agent's view of an active job (None: it no longer knows the job)."""
    job = session.get(Job, job_id)
    if job is None or job_state(job) not in DISPATCH_ACTIVE:
        return
    if report is None:
        lose_job(
            session,
            job,
            policy,
            error=f"{job.device} no longer knows this job",
            reason=DispatchReason.JOB_UNKNOWN_AT_DEVICE,
        )
        return
    counts = counts_of(report)
    state = DispatchState.mirroring(report.state)
    update_job(session, job, state=state, counts=counts, error=report.last_error())
    settle(
        session,
        job.request_id,
        policy,
        writing=counts.writing or state is DispatchState.RUNNING,
        verifying=counts.verifying,
    )


def apply_returned_report(
    session: Session, job_id: str, report: JobOut | None, policy: SettlePolicy
) -> None:
    """A job lost while its device was silent, as the returned device tells it."""
    job = session.get(Job, job_id)
    if job is None or job_state(job) is not DispatchState.LOST:
        return
    if report is None:
        job.reason = DispatchReason.JOB_UNKNOWN_AT_DEVICE
        job.error = f"{job.device} came back without this job; nothing was burned"
        return
    if not JOB_LIFECYCLE.is_terminal(report.state):
        return  # still stopping: counted on a later round
    update_job(
        session,
        job,
        state=DispatchState.mirroring(report.state),
        counts=counts_of(report, in_progress=False),
        error=f"{job.device} came back after its jobs were moved; its discs are counted",
        reason=DispatchReason.DEVICE_RETURNED,
    )
    settle(session, job.request_id, policy)


def _give_up(
    session: Session,
    job: Job,
    state: DispatchState,
    *,
    error: str,
    reason: DispatchReason,
    counts: CopyCounts | None = None,
) -> None:
    kept = counts or CopyCounts(job.good_copies, job.failed_copies, False, False)
    update_job(session, job, state=state, counts=kept, error=error, reason=reason)


def lose_job(
    session: Session, job: Job, policy: SettlePolicy, *, error: str, reason: DispatchReason
) -> None:
    """Give a job up (its device went silent, or forgot it); its copies go back to the queue."""
    _give_up(session, job, DispatchState.LOST, error=error, reason=reason)
    settle(session, job.request_id, policy)


def refuse_job(
    session: Session, job_id: str, policy: SettlePolicy, *, error: str, reason: DispatchReason
) -> None:
    """The agent would not take a pending command: it failed, its copies are planned again."""
    job = session.get(Job, job_id)
    if job is None or job_state(job) not in DISPATCH_ACTIVE:
        return
    zero = CopyCounts(0, 0, False, False)
    _give_up(session, job, DispatchState.FAILED, error=error, reason=reason, counts=zero)
    settle(session, job.request_id, policy)


def cancel_job(
    session: Session,
    job_id: str,
    *,
    error: str = "the request was cancelled",
    reason: DispatchReason = DispatchReason.JOB_CANCELED_BY_USER,
    policy: SettlePolicy | None = None,
) -> None:
    """The agent stopped a job (its request was cancelled, or the failure policy gave up
    on it); with ``policy`` its request is settled, so its discs left are planned again."""
    job = session.get(Job, job_id)
    if job is None or job_state(job) not in DISPATCH_ACTIVE:
        return
    _give_up(session, job, DispatchState.CANCELLED, error=error, reason=reason)
    if policy is not None:
        settle(session, job.request_id, policy)


def _merge_sets(session: Session, job: Job, request: Request) -> list[dict[str, str]]:
    """One merge set per disc of the job, numbered within its request ("3 of 10")."""
    earlier = session.scalars(
        select(Job).where(
            Job.request_id == request.id, Job.id != job.id, Job.created_at <= job.created_at
        )
    )
    first = 1 + sum(j.copies if job_state(j) in DISPATCH_ACTIVE else j.good_copies for j in earlier)
    order = request.order
    common = {
        "TITLE": request.content.title,
        "ORDER": order.id,
        "REQUEST": request.id,
        "CUSTOMER": str(order.ship_to.get("name", "")),
        "DATE": order.created_at.date().isoformat(),
        # a patient disc's face (patient, study, "disc N of M"), checked when stored
        **{str(key): str(value) for key, value in request.content.face_fields.items()},
    }
    total = max(request.copies, first + job.copies - 1)
    return [{**common, "COPY": f"{first + n} of {total}"} for n in range(job.copies)]


def next_command(session: Session, *, device: str, owner: str) -> tuple[JobCreate, int] | None:
    """The oldest pending job this owner leases on ``device``, as the agent's command,
    with its content's size (for the upload)."""
    job = session.scalar(
        select(Job)
        .where(Job.device == device, Job.state == DispatchState.PENDING, Job.lease_owner == owner)
        .order_by(Job.created_at, Job.id)
        .limit(1)
    )
    if job is None:
        return None
    request = session.get(Request, job.request_id)
    assert request is not None
    command = JobCreate(
        job_id=job.id,
        content_sha256=request.content.sha256,
        media=job.media,
        copies=job.copies,
        volume_name=_device_safe(check_volume_name, request.content.volume_id) or "DISCFLOW",
        verify=True,
        priority=Priority(request.priority),
        label=_device_safe(DiscLabel.model_validate, {"merge": _merge_sets(session, job, request)}),
    )
    return command, request.content.size_bytes


def _device_safe(check: Callable[[Any], T], value: Any) -> T | None:
    """A value the agent's checks accept, else None (logged): a stored title or volume
    id from before those checks must not stop the dispatcher (H13, #19.4)."""
    try:
        return check(value) if value else None
    except (ValueError, ValidationError) as exc:
        log.warning("left out of a job command (the device could not take it): %s", exc)
        return None


# -- the dispatcher's queries -------------------------------------------------


def jobs_to_follow(session: Session, *, owner: str) -> list[tuple[str, str]]:
    """(job, device) of the accepted, unfinished jobs this dispatcher leases."""
    return [
        (job_id, device)
        for job_id, device in session.execute(
            select(Job.id, Job.device)
            .where(
                Job.state.in_(JOB_ACTIVE),
                Job.state != DispatchState.PENDING,
                Job.lease_owner == owner,
            )
            .order_by(Job.created_at, Job.id)
        )
    ]


def devices_with_pending_jobs(session: Session, *, owner: str) -> set[str]:
    """The devices holding pending jobs (planned, not yet sent) this dispatcher leases."""
    return set(
        session.scalars(
            select(Job.device)
            .where(Job.state == DispatchState.PENDING, Job.lease_owner == owner)
            .distinct()
        )
    )


def withdrawn_jobs(session: Session, *, owner: str) -> list[tuple[str, str]]:
    """(job, device) of unfinished jobs of cancelled requests, leased by this dispatcher."""
    return [
        (job_id, device)
        for job_id, device in session.execute(
            select(Job.id, Job.device)
            .join(Request, Job.request_id == Request.id)
            .where(
                Job.state.in_(JOB_ACTIVE),
                Request.state == RequestState.CANCELLED,
                Job.lease_owner == owner,
            )
        )
    ]


def lost_jobs_to_recheck(session: Session) -> list[tuple[str, str]]:
    """(job, device) of jobs lost while their device was offline, now that it reports."""
    return [
        (job_id, device)
        for job_id, device in session.execute(
            select(Job.id, Job.device)
            .join(Device, Job.device == Device.name)
            .where(
                Job.state == DispatchState.LOST,
                Job.reason == DispatchReason.SERVICE_OFF_LINE,
                Device.availability != Availability.OFFLINE,
            )
        )
    ]


def claim_requests(session: Session, request_ids: Collection[str]) -> dict[str, int]:
    """Lock the requests a plan binds and say how many copies each still needs planned.

    The rows are locked (``FOR UPDATE``) in id order, so two planners claiming
    overlapping requests take turns and cannot deadlock; the request objects are
    reloaded and the active jobs read *after* the lock, so what another planner
    committed meanwhile is counted. A request no longer open needs 0."""
    ids = sorted(set(request_ids))
    if not ids:
        return {}
    requests = locked_requests(session, Request.id.in_(ids))
    in_flight: dict[str, int] = {}
    for request_id, copies, good in session.execute(
        select(Job.request_id, Job.copies, Job.good_copies).where(
            Job.request_id.in_(ids), Job.state.in_(JOB_ACTIVE)
        )
    ):
        in_flight[request_id] = in_flight.get(request_id, 0) + max(0, copies - good)
    return {
        request.id: (
            max(0, request.copies - request.good_copies - in_flight.get(request.id, 0))
            if request.state in _OPEN_REQUEST_STATES
            else 0
        )
        for request in requests
    }


def copies_to_plan(session: Session) -> bool:
    """Whether some open request has copies no active job covers: one statement, so
    a planner with nothing to plan does not load the whole open queue to find out."""
    left = case((Job.copies > Job.good_copies, Job.copies - Job.good_copies), else_=0)
    in_flight = (
        select(func.coalesce(func.sum(left), 0))
        .where(Job.request_id == Request.id, Job.state.in_(JOB_ACTIVE))
        .scalar_subquery()
    )
    unplanned = select(Request.id).where(
        Request.state.in_(_OPEN_REQUEST_STATES),
        Request.copies - Request.good_copies - in_flight > 0,
    )
    return session.scalar(unplanned.limit(1)) is not None


def open_requests(session: Session) -> list[Request]:
    """Requests that may still need copies planned, oldest first, with their contents."""
    return list(
        session.scalars(
            select(Request)
            .where(Request.state.in_(_OPEN_REQUEST_STATES))
            .options(selectinload(Request.content))
            .order_by(Request.created_at, Request.id)
        )
    )


def pending_reloads(session: Session) -> set[tuple[str, str]]:
    """(device, media) the operator was already asked to reload."""
    return {
        (notice.device, notice.media)
        for notice in session.scalars(
            select(Notice).where(
                Notice.kind.in_(("media-low", "media-out")), Notice.cleared_at.is_(None)
            )
        )
        if notice.device is not None and notice.media is not None
    }

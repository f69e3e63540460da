"""Jobs: the dispatcher's record of write commands, and what they did to requests.

Invariants:
- A job is created ``pending`` in the same transaction that assigns its
  request, and its id is the idempotency key the agent sees, so submitting it
  again after a crash can never start a second job.
- A request's counts and state are recomputed from all its jobs by
  ``settle_request`` alone; they are never edited piecemeal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from discflow.domain import (
    DISPATCH_ACTIVE,
    DISPATCH_FINAL,
    DISPATCH_LIFECYCLE,
    REQUEST_FINAL,
    DispatchReason,
    DispatchState,
    RequestState,
)
from discflow.store._events import record
from discflow.store._ids import new_id
from discflow.store._orders import transition_request
from discflow.store._tables import Job, Request
from discflow.store._types import utcnow

# for SQL ``IN``: the dispatch states a job is still being worked on in, and the rest
JOB_ACTIVE = tuple(sorted(DISPATCH_ACTIVE))
JOB_FINAL = tuple(sorted(DISPATCH_FINAL))


@dataclass(frozen=True, slots=True)
class CopyCounts:
    good: int
    failed: int
    writing: bool
    verifying: bool


def create_job(
    session: Session, request: Request, *, device: str, copies: int, owner: str, lease_s: float
) -> Job:
    job = Job(
        id=new_id("JOB", 12),
        request_id=request.id,
        device=device,
        media=request.media,
        copies=copies,
        state=DispatchState.PENDING,
        reason=DispatchReason.NONE,
        lease_owner=owner,
        lease_expires_at=utcnow() + timedelta(seconds=lease_s),
    )
    session.add(job)
    if RequestState(request.state) == RequestState.QUEUED:
        transition_request(
            session,
            request,
            RequestState.ASSIGNED,
            device=device,
            job_id=job.id,
            message=f"{copies} copies to {device}",
        )
    else:
        record(
            session,
            "request.split",
            f"{copies} more copies to {device}",
            order_id=request.order_id,
            request_id=request.id,
            device=device,
            job_id=job.id,
        )
    return job


def select_jobs() -> Select[Job]:
    """Every job, oldest first (for reports and checks)."""
    return select(Job).order_by(Job.created_at, Job.id)


def active_jobs(session: Session, *, device: str | None = None) -> list[Job]:
    query = select(Job).where(Job.state.in_(JOB_ACTIVE))
    if device is not None:
        query = query.where(Job.device == device)
    return list(session.scalars(query.order_by(Job.created_at, Job.id)))


def job_state(job: Job) -> DispatchState:
    return DispatchState(job.state)


def _move(job: Job, target: DispatchState) -> None:
    """The one place a job's state is written: the transition table is checked here."""
    current = DispatchState(job.state)
    if current != target:
        DISPATCH_LIFECYCLE.check(current, target, subject=job.id)
        job.state = target


def accept_job(job: Job) -> None:
    """The agent took a pending command (its answer said nothing later than queued)."""
    if job_state(job) is DispatchState.PENDING:
        _move(job, DispatchState.QUEUED)


def set_job_reason(job: Job, reason: DispatchReason, error: str) -> None:
    """A new reason (and sentence) for a job that stays where it is."""
    job.reason = reason
    job.error = error


def update_job(
    session: Session,
    job: Job,
    *,
    state: DispatchState,
    counts: CopyCounts,
    error: str = "",
    reason: DispatchReason = DispatchReason.NONE,
) -> bool:
    """Mirror the agent's view of a job (or give it up); True when anything changed.

    Raises ``IllegalTransition`` for a move the dispatch lifecycle forbids."""
    changed = (job.state, job.good_copies, job.failed_copies) != (state, counts.good, counts.failed)
    if not changed:
        return False
    if state != job.state:
        DISPATCH_LIFECYCLE.check(DispatchState(job.state), state, subject=job.id)
    if counts.failed > job.failed_copies:
        record(
            session,
            "disc.failed",
            error or f"{counts.failed - job.failed_copies} bad disc(s)",
            request_id=job.request_id,
            device=job.device,
            job_id=job.id,
            data={"failed": counts.failed},
        )
    if counts.good > job.good_copies:
        record(
            session,
            "disc.good",
            f"{counts.good} of {job.copies} verified on {job.device}",
            request_id=job.request_id,
            device=job.device,
            job_id=job.id,
            data={"good": counts.good},
        )
    if state != job.state:
        record(
            session,
            f"job.{state}",
            error,
            request_id=job.request_id,
            device=job.device,
            job_id=job.id,
        )
    _move(job, state)
    if state != DispatchState.PENDING:
        job.reason = reason
    job.good_copies = counts.good
    job.failed_copies = counts.failed
    if error:
        job.error = error
    return True


def settle_request(
    session: Session,
    request: Request,
    *,
    max_failed_discs: int,
    writing: bool = False,
    verifying: bool = False,
) -> None:
    """Recompute a request's counts and state from all of its jobs.

    A final request keeps its state, but its counts still follow its jobs: a
    device that comes back after its job was moved may report discs it made."""
    jobs = list(session.scalars(select(Job).where(Job.request_id == request.id)))
    request.good_copies = sum(j.good_copies for j in jobs)
    request.failed_copies = sum(j.failed_copies for j in jobs)
    if RequestState(request.state) in REQUEST_FINAL:
        return
    state = RequestState(request.state)
    active = [j for j in jobs if DispatchState(j.state) in DISPATCH_ACTIVE]
    if state == RequestState.HELD:
        if request.good_copies < request.copies:
            return  # held: nothing is planned until a person releases it
        # a device that came back made the rest: nothing is left to hold
        transition_request(session, request, RequestState.QUEUED, message="made while held")
        state = RequestState.QUEUED
    if request.good_copies >= request.copies:
        # the log shows every phase, even when one poll saw the whole job finish
        if state == RequestState.QUEUED:  # a device came back with discs of a moved job
            transition_request(
                session, request, RequestState.ASSIGNED, message="a device reported its discs"
            )
            state = RequestState.ASSIGNED
        if state == RequestState.ASSIGNED:
            transition_request(session, request, RequestState.BURNING)
            state = RequestState.BURNING
        if state == RequestState.BURNING:
            transition_request(
                session,
                request,
                RequestState.VERIFYING,
                message="all copies written; device verified them",
            )
        transition_request(
            session,
            request,
            RequestState.DONE,
            message=f"{request.good_copies} good disc(s), {request.failed_copies} failed",
        )
        return
    if request.failed_copies > max_failed_discs:
        transition_request(
            session,
            request,
            RequestState.FAILED,
            reason=f"{request.failed_copies} discs failed; giving up after "
            f"{max_failed_discs}. Check the device's drives and media.",
        )
        return
    if not active:
        if state != RequestState.QUEUED:
            transition_request(
                session,
                request,
                RequestState.QUEUED,
                message=f"{request.copies - request.good_copies} copies to redo",
            )
        return
    if (writing or verifying) and state == RequestState.ASSIGNED:
        transition_request(session, request, RequestState.BURNING)
    elif verifying and not writing and state == RequestState.BURNING:
        transition_request(session, request, RequestState.VERIFYING)
    elif writing and state == RequestState.VERIFYING:
        transition_request(session, request, RequestState.BURNING)

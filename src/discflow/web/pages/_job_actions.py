"""What an operator does to one job from the console: move it, burn one more disc,
cancel its request.

Invariants:
- A job moves only while nothing of it is burned (``pending`` on the server
  or ``queued`` on its agent with no disc counted). The agent is told to drop
  it first; the old job is cancelled and the new one created in one
  transaction, so the request never looks unassigned to the planner.
- A new job is created with an expired lease: the next dispatcher round
  claims it and pushes it, the same way as any job it took over.
- Every action is one task-log event naming the operator.
- After a reload, work not started elsewhere moves to the reloaded device
  only when the estimate (queued seconds ahead plus its own discs, per
  device's speed and drives) says it finishes there sooner.
"""

from __future__ import annotations

from sqlalchemy import select

from discflow import store
from discflow.dispatcher import AgentClient, AgentRefused
from discflow.domain import DispatchState, RequestState
from discflow.errors import IllegalTransition, InvalidInput, NotFound
from discflow.store import CopyCounts, Database, Job
from discflow.store import Request as DiscRequest
from discflow.web.pages._console import MOVABLE


async def move_job(database: Database, *, job_id: str, target: str, actor: str) -> str:
    """Move a job nothing of which is burned yet to ``target``; returns the new job id."""
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}")
        if job.state not in MOVABLE or job.good_copies + job.failed_copies:
            raise IllegalTransition(
                f"job {job_id} is {job.state} with discs made; only a job not started yet moves"
            )
        if target == job.device:
            raise InvalidInput(f"job {job_id} is already on {target}; pick another device")
        device = store.get_device(session, target)
        if not any(row.media == job.media for row in device.media):
            raise InvalidInput(f"{target} has no {job.media} bin; pick a device that writes it")
        source = store.get_device(session, job.device)
        on_agent, job_device = job.state == "queued", job.device
        address, token = source.address, source.agent_token
    if on_agent and token:
        client = AgentClient(name=job_device, base_url=address, token=token)
        try:
            await client.cancel(job_id)
        except AgentRefused as refused:
            raise IllegalTransition(f"{job_device} would not drop {job_id}: {refused}") from None
        finally:
            await client.close()
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.state not in MOVABLE:
            raise IllegalTransition(f"job {job_id} started meanwhile; it stays where it is")
        request = store.get_request(session, job.request_id)
        store.update_job(
            session,
            job,
            state=DispatchState.CANCELLED,
            counts=CopyCounts(0, 0, False, False),
            error=f"moved to {target} by {actor}",
        )
        moved = store.create_job(
            session, request, device=target, copies=job.copies, owner=actor, lease_s=0
        )
        store.record(
            session,
            "job.moved",
            f"{actor} moved {job.copies} disc(s) from {job.device} to {target}",
            order_id=request.order_id,
            request_id=request.id,
            device=target,
            job_id=moved.id,
            actor=actor,
            data={"from": job.device, "old_job": job_id},
        )
        return moved.id


def one_more_disc(database: Database, *, job_id: str, actor: str) -> str:
    """Burn one more disc of the job's request on the same device (a disc was damaged)."""
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}")
        request = store.get_request(session, job.request_id)
        extra = store.create_job(
            session, request, device=job.device, copies=1, owner=actor, lease_s=0
        )
        store.record(
            session,
            "disc.reprint",
            f"{actor} asked for one more disc on {job.device}",
            order_id=request.order_id,
            request_id=request.id,
            device=job.device,
            job_id=extra.id,
            actor=actor,
        )
        return extra.id


def cancel_request_of(database: Database, *, job_id: str, actor: str) -> DiscRequest:
    """Cancel the job's request (the dispatcher then stops its jobs on their agents)."""
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}")
        request = store.get_request(session, job.request_id)
        store.transition_request(
            session,
            request,
            RequestState.CANCELLED,
            actor=actor,
            reason=f"cancelled on the floor by {actor}",
            device=job.device,
            job_id=job.id,
        )
        return request


def _per_disc_s(device: store.Device, media: str, size_bytes: int) -> float | None:
    row = next((r for r in device.media if r.media == media), None)
    if row is None or row.write_Bps <= 0:
        return None
    return (row.overhead_s + size_bytes / row.write_Bps) / max(1, len(device.drives))


def moves_after_reload(database: Database, *, device: str, media: str) -> list[str]:
    """Jobs of ``media`` not started on other devices that ``device`` (just reloaded)
    would finish sooner, earliest first, as many as its blanks cover."""
    with database.transaction() as session:
        target = store.get_device(session, device)
        blanks = next((r.loaded for r in target.media if r.media == media), 0)
        if target.paused or target.availability in ("offline", "error") or blanks <= 0:
            return []
        jobs = list(
            session.scalars(
                store.select_jobs()
                .where(Job.state.in_(store.JOB_ACTIVE))
                .order_by(Job.created_at, Job.id)
            )
        )
        sizes = {
            r.id: r.content.size_bytes
            for r in session.scalars(
                select(DiscRequest).where(DiscRequest.id.in_({j.request_id for j in jobs}))
            )
        }
        devices = {d.name: d for d in store.list_devices(session)}
        ahead: dict[str, float] = {}  # seconds of work queued per device so far
        for job in jobs:
            if job.device == device:
                per = _per_disc_s(target, job.media, sizes.get(job.request_id, 0)) or 0.0
                ahead[device] = ahead.get(device, 0.0) + per * (job.copies - job.good_copies)
        chosen: list[str] = []
        for job in jobs:
            source = devices.get(job.device)
            if job.device == device:
                continue
            per_here = _per_disc_s(target, media, sizes.get(job.request_id, 0))
            if source is None or per_here is None:
                continue
            per_there = _per_disc_s(source, job.media, sizes.get(job.request_id, 0)) or 0.0
            left = job.copies - job.good_copies
            waited = ahead.get(job.device, 0.0)
            ahead[job.device] = waited + per_there * left
            movable = job.state in MOVABLE and job.good_copies + job.failed_copies == 0
            if job.media != media or not movable or left > blanks:
                continue
            finish_here = ahead.get(device, 0.0) + per_here * left
            if finish_here < waited + per_there * left:
                chosen.append(job.id)
                ahead[device] = finish_here
                ahead[job.device] = waited  # what followed it there moves up
                blanks -= left
        return chosen


async def rebalance_after_reload(
    database: Database, *, device: str, media: str, actor: str
) -> list[str]:
    """Move the work a reload lets ``device`` finish sooner; returns the moved job ids."""
    moved = []
    for job_id in moves_after_reload(database, device=device, media=media):
        try:
            await move_job(database, job_id=job_id, target=device, actor=actor)
        except (IllegalTransition, InvalidInput, NotFound):
            continue  # it started meanwhile, or its device changed: leave it
        moved.append(job_id)
    return moved

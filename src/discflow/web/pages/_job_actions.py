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
"""

from __future__ import annotations

from discflow import store
from discflow.dispatcher import AgentClient, AgentRefused
from discflow.domain import RequestState
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
        on_agent = job.state == "queued"
        address, token = source.address, source.agent_token
    if on_agent and token:
        client = AgentClient(name=source.name, base_url=address, token=token)
        try:
            await client.cancel(job_id)
        except AgentRefused as refused:
            raise IllegalTransition(f"{source.name} would not drop {job_id}: {refused}") from None
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
            state="cancelled",
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

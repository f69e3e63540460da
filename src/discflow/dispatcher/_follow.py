"""Following jobs on their agents: progress, cancellations, and lost jobs rechecked.

Invariant: each function asks the agents first, outside any transaction, and
hands every answer to the store (``store.apply_agent_report`` and friends) in
one transaction per job, so one bad job or one slow agent never holds up the
others and no lock is held across the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError

from discflow import store
from discflow.dispatcher._client import AgentRefused
from discflow.dispatcher._pusher import DeviceLink
from discflow.domain import JOB_LIFECYCLE
from discflow.errors import DiscflowError
from discflow.protocol import JobOut
from discflow.store import Database, SettlePolicy

log = logging.getLogger("discflow.dispatcher")

Links = Mapping[str, DeviceLink]


async def _ask(links: Links, job_id: str, device: str) -> tuple[str, JobOut | None, bool]:
    """(job, the agent's view, whether the agent answered at all)."""
    link = links.get(device)
    if link is None:
        return job_id, None, False
    try:
        return job_id, await link.client.job(job_id), True
    except DiscflowError:
        return job_id, None, False


async def follow_jobs(
    database: Database,
    links: Links,
    *,
    owner: str,
    policy: SettlePolicy,
    applied: dict[str, JobOut],
) -> None:
    """Mirror every accepted job this dispatcher leases from its agent.

    ``applied`` (kept by the caller across rounds) holds the last report recorded
    for each job: an answer equal to it changed nothing, so it is not written again
    (a transaction and a locked read of the request per job and round, before)."""
    with database.transaction() as session:
        mine = store.jobs_to_follow(session, owner=owner)
    following = {job for job, _ in mine}
    for gone in [job for job in applied if job not in following]:
        del applied[gone]
    answers = await asyncio.gather(*(_ask(links, job, device) for job, device in mine))
    for job_id, report, answered in answers:
        if not answered:
            continue
        if report is not None and applied.get(job_id) == report:
            continue
        try:
            with database.transaction() as session:
                store.apply_agent_report(session, job_id, report, policy)
            if report is not None:
                applied[job_id] = report
        except DiscflowError as error:  # one bad job must not stall the others
            log.warning("job %s: %s", job_id, error)
        except SQLAlchemyError:  # nor can a database refusal on one job (logged in full)
            log.exception("job %s could not be recorded", job_id)


async def cancel_withdrawn(
    database: Database, links: Links, *, owner: str, policy: SettlePolicy
) -> None:
    """Stop, on their agents, the jobs of requests that were cancelled.

    A cancel the agent refuses is looked at again: a job that had ended there
    (409: done, failed or cancelled before our cancel arrived) is recorded as it
    ended, and one the agent never heard of (404: it was not pushed yet) is
    cancelled here, so neither is asked again every round. Only a robot that
    refused to stop a running job is asked again next round."""
    with database.transaction() as session:
        doomed = store.withdrawn_jobs(session, owner=owner)
    for job_id, device in doomed:
        link = links.get(device)
        report: JobOut | None = None
        try:
            if link is not None:
                try:
                    await link.client.cancel(job_id)
                except AgentRefused as refusal:
                    report = await link.client.job(job_id)
                    if report is not None and not JOB_LIFECYCLE.is_terminal(report.state):
                        raise
                    log.info("cancel of %s on %s: %s", job_id, device, refusal)
        except DiscflowError as error:
            log.info("cancel of %s on %s deferred: %s", job_id, device, error)
            continue
        with database.transaction() as session:
            if report is None:
                store.cancel_job(session, job_id)
            else:
                store.apply_agent_report(session, job_id, report, policy)


async def recheck_lost(database: Database, links: Links, *, policy: SettlePolicy) -> None:
    """A device declared offline may have burned discs before it went silent (or,
    cut off from us, while silent). When it reports again, stop what is left of
    each job it lost and count the discs it did make, so no disc goes unrecorded
    and a request still waiting does not burn them again."""
    with database.transaction() as session:
        lost = store.lost_jobs_to_recheck(session)
    for job_id, device in lost:
        link = links.get(device)
        if link is None:
            continue
        try:
            report = await link.client.job(job_id)
            if report is not None and not JOB_LIFECYCLE.is_terminal(report.state):
                with contextlib.suppress(AgentRefused):
                    await link.client.cancel(job_id)
                report = await link.client.job(job_id)
        except DiscflowError as error:
            log.info("lost job %s on %s: not rechecked yet: %s", job_id, device, error)
            continue
        with database.transaction() as session:
            store.apply_returned_report(session, job_id, report, policy)

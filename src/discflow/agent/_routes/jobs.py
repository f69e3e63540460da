"""``/v1/jobs``: write commands (the job id makes a resent command harmless)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from discflow.agent._agent import Agent
from discflow.agent._jobs import JobSpec
from discflow.agent._routes._deps import AUTH, AgentDep
from discflow.domain import media_type
from discflow.errors import InvalidInput
from discflow.protocol import JobBrief, JobCreate, JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=AUTH)


def _out(agent: Agent, job_id: str) -> JobOut:
    return JobOut.model_validate(agent.runner.job(job_id).to_json())


@router.post("", status_code=201, response_model=JobOut)
async def job_create(body: JobCreate, response: Response, agent: AgentDep) -> JobOut:
    known = body.job_id in agent.runner.jobs
    size = 0 if known else agent.cache.size(body.content_sha256)
    capacity = media_type(body.media).capacity_bytes
    if size > capacity:
        raise InvalidInput(
            f"content {body.content_sha256[:12]}... is {size} bytes; {body.media} holds {capacity}"
        )
    spec = JobSpec(
        job_id=body.job_id,
        content_sha256=body.content_sha256,
        media=body.media,
        copies=body.copies,
        volume_name=body.volume_name,
        verify=body.verify,
        label=body.label.as_mapping() if body.label is not None else None,
        priority=body.priority,
        burn_speed=body.burn_speed,
    )
    job, created = agent.runner.submit(spec)
    if not created:
        response.status_code = 200
    agent.jobs_loop.wake()
    return _out(agent, job.job_id)


@router.get("", response_model=list[JobBrief])
async def job_list(agent: AgentDep) -> list[JobBrief]:
    return [JobBrief(job_id=j.job_id, state=j.state) for j in agent.runner.jobs.values()]


@router.get("/{job_id}", response_model=JobOut)
async def job_get(job_id: str, agent: AgentDep) -> JobOut:
    return _out(agent, job_id)


@router.post("/{job_id}/cancel", response_model=JobOut)
async def job_cancel(job_id: str, agent: AgentDep) -> JobOut:
    await agent.runner.cancel(job_id)
    return _out(agent, job_id)

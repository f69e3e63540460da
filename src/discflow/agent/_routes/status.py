"""``/v1/health`` (no token) and ``/v1/status``: the agent's resource record."""

from __future__ import annotations

from fastapi import APIRouter

from discflow.agent._routes._deps import AUTH, AgentDep
from discflow.protocol import AgentStatus

router = APIRouter(prefix="/v1", tags=["status"])


@router.get("/health")
async def health(agent: AgentDep) -> dict[str, str]:
    return {"status": "ok", "name": agent.config.name}


@router.get("/status", response_model=AgentStatus, dependencies=AUTH)
async def status(agent: AgentDep) -> AgentStatus:
    return agent.status()

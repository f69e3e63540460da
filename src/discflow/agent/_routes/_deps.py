"""What every route needs: the app's ``Agent`` and, for ``/v1``, its bearer token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from discflow.agent._agent import Agent


def current_agent(request: Request) -> Agent:
    agent: Agent = request.app.state.agent
    return agent


AgentDep = Annotated[Agent, Depends(current_agent)]


def authorized(agent: AgentDep, authorization: Annotated[str | None, Header()] = None) -> None:
    if agent.token is None:
        raise HTTPException(503, "this agent has no token yet: enrol it or set 'token'")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), agent.token):
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


AUTH = [Depends(authorized)]

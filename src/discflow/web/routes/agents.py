"""``/api/v1/agents``: agent enrolment (a one-time code exchanged for a token)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from discflow import store
from discflow.web.deps import SessionDep
from discflow.web.schemas import EnrolIn

router = APIRouter(prefix="/agents", tags=["devices"])


class EnrolOut(BaseModel):
    token: str


@router.post("/enrol", response_model=EnrolOut)
def enrol(body: EnrolIn, session: SessionDep) -> EnrolOut:
    """Exchange the code shown when the device was registered for the agent's token."""
    return EnrolOut(
        token=store.enrol_agent(session, code=body.code, name=body.name, address=body.address)
    )

"""Media creation requests (PS3.4 S.3.2): create, cancel, and the status N-GET reports.

Invariants: a request is visible only to the account its AE title maps to (any
other sees "No such SOP Instance"); its state moves only through ``_move``; the
Execution Status of an ordered request is derived from the discflow requests of
its order each time it is asked for, never stored; once its discs are verified
(DONE) the instances it named are deleted unless Preserve Composite Instances
After Media Creation is YES. Nothing here writes patient data to the task log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow import store
from discflow.dicom import _status as st
from discflow.dicom._attributes import DicomRefusal, RequestSpec
from discflow.dicom._lifecycle import RequestState, check_move
from discflow.dicom._spool import delete_instances
from discflow.dicom._status import ExecutionStatus, StatusInfo
from discflow.dicom._tables import MediaRequest
from discflow.domain import RequestState as DiscState
from discflow.errors import DiscflowError
from discflow.store import Principal, Request

_IN_PROGRESS = {DiscState.BURNING, DiscState.VERIFYING}
_STARTED = {DiscState.ASSIGNED, DiscState.BURNING, DiscState.VERIFYING}


def move(request: MediaRequest, target: RequestState) -> None:
    request.state = check_move(request.uid, RequestState(request.state), target).value


def owned(session: Session, uid: str, user_id: int, *, lock: bool = False) -> MediaRequest:
    query = select(MediaRequest).where(MediaRequest.uid == uid)
    if lock:
        query = query.with_for_update()
    request = session.scalar(query)
    if request is None or request.user_id != user_id:
        raise DicomRefusal(st.NO_SUCH_SOP_INSTANCE, "no such media creation request")
    return request


def create_request(
    session: Session, spec: RequestSpec, *, uid: str, user_id: int, calling_ae: str
) -> MediaRequest:
    """Record an N-CREATE; the referenced instances are checked at N-ACTION (S.3.2.1.3)."""
    if session.get(MediaRequest, uid) is not None:
        raise DicomRefusal(st.DUPLICATE_SOP_INSTANCE, "this SOP Instance UID already exists")
    request = MediaRequest(
        uid=uid,
        user_id=user_id,
        calling_ae=calling_ae,
        state=RequestState.CREATED.value,
        attributes=dict(spec.attributes),
        references=list(spec.references),
        copies=1,
        priority="MED",
        discs=[],
        failed=[],
        status_info=StatusInfo.NORMAL.value,
        detail="",
    )
    session.add(request)
    session.flush()
    return request


def principal_of(session: Session, user_id: int) -> Principal:
    user = session.get(store.User, user_id)
    if user is None:
        raise DicomRefusal(st.REFUSED_NOT_AUTHORIZED, "the account of this AE title is gone")
    return Principal(user.id, user.name, store.parse_role(user.role))


def _disc_requests(session: Session, request: MediaRequest) -> list[Request]:
    if request.order_id is None:
        return []
    return list(
        session.scalars(
            select(Request).where(Request.order_id == request.order_id).order_by(Request.position)
        )
    )


def cancel(session: Session, uid: str, *, user_id: int) -> None:
    """N-ACTION 2 (PS3.4 S.3.2.3): cancel, or say why not with C201/C202/C203."""
    request = owned(session, uid, user_id, lock=True)
    state = RequestState(request.state)
    if state is RequestState.CREATED:
        move(request, RequestState.CANCELLED)
        return
    if state is RequestState.DONE:
        raise DicomRefusal(st.ALREADY_COMPLETED, "the media were already created")
    if state is RequestState.BUILDING:
        raise DicomRefusal(st.IN_PROGRESS_CANNOT_INTERRUPT, "the file-sets are being written")
    if state is not RequestState.ORDERED:
        raise DicomRefusal(st.CANCELLATION_DENIED, f"the request is already {state.value}")
    discs = _disc_requests(session, request)
    states = {DiscState(d.state) for d in discs}
    if states and states <= {DiscState.DONE}:
        raise DicomRefusal(st.ALREADY_COMPLETED, "the media were already created")
    if states & (_IN_PROGRESS | {DiscState.DONE}):
        raise DicomRefusal(
            st.IN_PROGRESS_CANNOT_INTERRUPT, "a disc is being burned and cannot be interrupted"
        )
    try:
        assert request.order_id is not None
        store.cancel_order(session, request.order_id, principal_of(session, user_id))
    except DiscflowError as exc:
        raise DicomRefusal(st.CANCELLATION_DENIED, str(exc)) from exc
    move(request, RequestState.CANCELLED)


@dataclass(frozen=True, slots=True)
class StatusView:
    """What N-GET reports (PS3.4 Table S.3.2.4.1-1)."""

    execution: ExecutionStatus
    info: StatusInfo
    pieces: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)


def _ordered_status(discs: list[Request]) -> tuple[ExecutionStatus, StatusInfo]:
    states = [DiscState(d.state) for d in discs]
    if states and all(s is DiscState.DONE for s in states):
        return ExecutionStatus.DONE, StatusInfo.NORMAL
    if any(s in (DiscState.FAILED, DiscState.CANCELLED) for s in states):
        return ExecutionStatus.FAILURE, StatusInfo.MCD_FAILURE
    if any(s in _STARTED or s is DiscState.DONE for s in states):
        return ExecutionStatus.CREATING, StatusInfo.NORMAL
    return ExecutionStatus.PENDING, StatusInfo.QUEUED


def status(session: Session, uid: str, *, user_id: int, spool: Path) -> StatusView:
    """The Execution Status now; a request seen DONE is settled (instances deleted)."""
    request = owned(session, uid, user_id)
    return settle(session, request, spool=spool)


def settle(session: Session, request: MediaRequest, *, spool: Path) -> StatusView:
    state = RequestState(request.state)
    media = [{"uid": d["file_set_uid"], "id": d["file_set_id"]} for d in request.discs]
    if state is RequestState.CREATED:
        return StatusView(ExecutionStatus.IDLE, StatusInfo.NORMAL)
    if state is RequestState.BUILDING:
        return StatusView(ExecutionStatus.PENDING, StatusInfo.QUEUED)
    if state is RequestState.FAILED:
        return StatusView(
            ExecutionStatus.FAILURE, StatusInfo(request.status_info), failed=request.failed
        )
    if state is RequestState.CANCELLED:
        # a cancelled request ends in FAILURE (never DONE), so a polling SCU stops
        return StatusView(ExecutionStatus.FAILURE, StatusInfo.UNKNOWN)
    discs = _disc_requests(session, request)
    pieces = sum(d.good_copies for d in discs)
    execution, info = _ordered_status(discs)
    if state is RequestState.ORDERED and execution is ExecutionStatus.DONE:
        move(request, RequestState.DONE)
        if request.attributes.get("PreserveCompositeInstancesAfterMediaCreation") != "YES":
            delete_instances(session, spool, [r["instance"] for r in request.references])
    elif state is RequestState.ORDERED and execution is ExecutionStatus.FAILURE:
        request.status_info = info.value
        move(request, RequestState.FAILED)
    return StatusView(execution, info, pieces=pieces, media=media)

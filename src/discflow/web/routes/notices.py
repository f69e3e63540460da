"""``/api/v1/notices``: what the operator must see or do, with acknowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from discflow import store
from discflow.store import Notice
from discflow.web.deps import OperatorDep, RowId, SessionDep

router = APIRouter(prefix="/notices", tags=["notices"])


class NoticePublic(BaseModel):
    id: int
    kind: str
    severity: str
    device: str | None
    media: str | None
    message: str
    data: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None


def notice_public(notice: Notice) -> NoticePublic:
    return NoticePublic(
        id=notice.id,
        kind=notice.kind,
        severity=notice.severity,
        device=notice.device,
        media=notice.media,
        message=notice.message,
        data=notice.data,
        created_at=notice.created_at,
        acknowledged_at=notice.acknowledged_at,
        cleared_at=notice.cleared_at,
    )


@router.get("", response_model=list[NoticePublic])
def list_notices(
    session: SessionDep, principal: OperatorDep, include_cleared: bool = False
) -> list[NoticePublic]:
    """Open notices, newest first (``include_cleared=true`` for history)."""
    return [notice_public(n) for n in store.list_notices(session, open_only=not include_cleared)]


@router.post("/{notice_id}/acknowledge", response_model=NoticePublic)
def acknowledge(notice_id: RowId, session: SessionDep, principal: OperatorDep) -> NoticePublic:
    return notice_public(store.acknowledge_notice(session, notice_id, actor=principal.name))

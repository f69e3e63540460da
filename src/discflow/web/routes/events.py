"""``/api/v1/events``: the task log, oldest first, keyset-paged by ``after_id``."""

from __future__ import annotations

from fastapi import APIRouter

from discflow import store
from discflow.errors import InvalidInput
from discflow.store import EventFilter, Role
from discflow.web.deps import Count, SessionDep, UserDep
from discflow.web.routes._convert import event_public
from discflow.web.schemas import EventPublic

router = APIRouter(prefix="/events", tags=["task log"])


@router.get("", response_model=list[EventPublic])
def list_events(
    session: SessionDep,
    principal: UserDep,
    order_id: str | None = None,
    request_id: str | None = None,
    device: str | None = None,
    type: str | None = None,
    after_id: Count = 0,
    limit: Count = 100,
) -> list[EventPublic]:
    """Customers see the events of their own orders (give ``order_id``);
    operators see everything."""
    assert principal.role is not None
    if not principal.role.at_least(Role.OPERATOR):
        if order_id is None and request_id is not None:
            order_id = store.get_request(session, request_id).order_id
        if order_id is None:
            raise InvalidInput("customers read the task log of one order: add ?order_id=...")
        store.get_order(session, order_id, principal)  # raises for another customer's order
        device = None
    flt = EventFilter(
        order_id=order_id,
        request_id=request_id,
        device=device,
        type=type,
        after_id=max(0, after_id),
        limit=max(1, min(limit, 1000)),
    )
    return [event_public(e) for e in store.list_events(session, flt)]

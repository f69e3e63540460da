"""Holding and releasing an order's requests (CUPS's hold), under the planner's locks.

Invariants: a request is held only from ``queued`` (nothing of it planned yet) and
released only from ``held``; both take the rows with ``locked_requests``, the same
locks ``store.claim_requests`` takes before a plan's jobs are written, so a request
is held before a plan binds it or bound before it is held, never both.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from discflow.domain import RequestState
from discflow.errors import IllegalTransition
from discflow.store._auth import Principal
from discflow.store._events import record
from discflow.store._orders import get_order, order_state, transition_request
from discflow.store._tables import Order, Request


def locked_requests(session: Session, which: ColumnElement[bool]) -> list[Request]:
    """The requests ``which`` selects, locked for this transaction, in id order (two
    lockers take turns and cannot deadlock), reloaded after the lock so what another
    transaction committed meanwhile is what is read."""
    if session.get_bind().dialect.name == "sqlite":
        # no row locks, and pysqlite runs a SELECT outside any transaction: take the
        # database's one write lock first (a no-op UPDATE), so the rows read below
        # are the latest and no other writer commits before this transaction does
        session.execute(
            update(Request)
            .where(which)
            .values(state=Request.state)
            .execution_options(synchronize_session=False)
        )
    return list(
        session.scalars(
            select(Request)
            .where(which)
            .order_by(Request.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _move_order(
    session: Session,
    order_id: str,
    principal: Principal,
    *,
    source: RequestState,
    target: RequestState,
    refusal: str,
    reason: str,
    event: str,
) -> Order:
    """Move every request of the order in ``source`` to ``target`` under the planner
    claim's row locks (``store.claim_requests``), so a request is moved before a plan
    binds it or bound before it is moved; ``IllegalTransition`` when none is there."""
    order = get_order(session, order_id, principal)
    locked = locked_requests(session, Request.order_id == order.id)
    moving = [r for r in locked if RequestState(r.state) == source]
    if not moving:
        raise IllegalTransition(f"order {order_id!r} is {order_state(order)}: {refusal}")
    for request in moving:
        transition_request(session, request, target, actor=principal.name, message=reason)
        request.reason = reason if target == RequestState.HELD else ""
    record(session, event, reason, order_id=order.id, actor=principal.name)
    return order


def hold_order(session: Session, order_id: str, principal: Principal, *, why: str = "") -> Order:
    """Keep the order's queued requests out of planning until released (CUPS's hold):
    nothing of them is planned; discs already given to a device are made."""
    return _move_order(
        session,
        order_id,
        principal,
        source=RequestState.QUEUED,
        target=RequestState.HELD,
        refusal="only queued requests can be held (discs already planned are made; cancel"
        " the order to stop them)",
        reason=f"held by {principal.name}" + (f": {why}" if why else ""),
        event="order.held",
    )


def release_order(session: Session, order_id: str, principal: Principal) -> Order:
    """Put the order's held requests back in the queue, where they keep their place
    (their age counts from when they were ordered)."""
    return _move_order(
        session,
        order_id,
        principal,
        source=RequestState.HELD,
        target=RequestState.QUEUED,
        refusal="nothing of it is held",
        reason=f"released by {principal.name}",
        event="order.released",
    )

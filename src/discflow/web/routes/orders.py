"""``/api/v1/orders``: place, read, hold, release and cancel orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from discflow import store
from discflow.dispatcher import printer_from_setting, reprint_order
from discflow.errors import QuotaExceeded
from discflow.store import Database, OrderLine, Principal
from discflow.web.deps import (
    Count,
    HotUserDep,
    OperatorDep,
    SessionDep,
    SettingsDep,
    UserDep,
    get_database,
)
from discflow.web.routes._convert import JSON, order_public, placed_order_public
from discflow.web.schemas import HoldRequest, OrderCreate, OrderPublic

router = APIRouter(prefix="/orders", tags=["orders"])


def _replay_or_refuse(
    database: Database,
    principal: Principal,
    lines: list[OrderLine],
    body: OrderCreate,
    idempotency_key: str | None,
    quota: store.OrderQuota,
) -> tuple[OrderPublic, bool]:
    """The order path of old, for the rare call whose Idempotency-Key is taken."""
    with database.transaction() as session:
        placed = store.place_order(
            session,
            principal,
            lines,
            body.ship_to.to_domain(),
            idempotency_key=idempotency_key,
            source="api",
            priority=body.priority,
            quota=quota,  # this app's, not the environment's
        )
        return order_public(placed.order), placed.replayed


@router.post("", status_code=201, response_model=OrderPublic)
async def create_order(
    body: OrderCreate,
    request: Request,
    principal: HotUserDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Place an order of one or more requests; a retried POST with the same
    ``Idempotency-Key`` returns the first order instead of making a second."""
    # a new order with a known token is answered before this, by web._order_lane (the
    # same checks and writes, the same answer); this route answers every other call
    database = get_database(request)
    lines = [OrderLine(r.content_id, r.media, r.copies) for r in body.requests]
    quota = store.OrderQuota.from_settings(request.app.state.settings)
    try:
        placed = await database.hot.place_order(
            principal,
            lines,
            body.ship_to.to_domain(),
            idempotency_key=idempotency_key,
            source="api",
            priority=body.priority,
            quota=quota,
        )
    except QuotaExceeded:
        if idempotency_key is None:
            raise
        # a retry of an order already placed is a replay, not a new order: the old
        # path answers it (or refuses it again, when it is a new order after all)
        placed = None
    headers = {}
    if placed is not None:
        public = placed_order_public(placed)
    else:
        public, replayed = await run_in_threadpool(
            _replay_or_refuse, database, principal, lines, body, idempotency_key, quota
        )
        if replayed:
            headers["Idempotent-Replayed"] = "true"
    headers["Location"] = f"/api/v1/orders/{public.id}"
    # serialised once, by pydantic; FastAPI passes a Response through untouched
    return Response(public.model_dump_json(), status_code=201, media_type=JSON, headers=headers)


@router.get("", response_model=list[OrderPublic])
def list_orders(
    session: SessionDep, principal: UserDep, limit: Count = 50, offset: Count = 0
) -> list[OrderPublic]:
    """Your orders (all orders for operators), newest first."""
    limit = max(1, min(limit, 500))
    return [
        order_public(o)
        for o in store.list_orders(session, principal, limit=limit, offset=max(0, offset))
    ]


@router.get("/{order_id}", response_model=OrderPublic)
def get_order(order_id: str, session: SessionDep, principal: UserDep) -> OrderPublic:
    return order_public(store.get_order(session, order_id, principal))


@router.post("/{order_id}/cancel", response_model=OrderPublic)
def cancel_order(order_id: str, session: SessionDep, principal: UserDep) -> OrderPublic:
    """Cancel every request of the order that has not finished."""
    return order_public(store.cancel_order(session, order_id, principal))


@router.post("/{order_id}/hold", response_model=OrderPublic)
def hold_order(
    order_id: str, session: SessionDep, principal: UserDep, body: HoldRequest | None = None
) -> OrderPublic:
    """Keep the order's queued requests out of planning until released (409 when none
    is queued: discs already planned are made; cancel to stop them)."""
    why = body.reason if body is not None else ""
    return order_public(store.hold_order(session, order_id, principal, why=why))


@router.post("/{order_id}/release", response_model=OrderPublic)
def release_order(order_id: str, session: SessionDep, principal: UserDep) -> OrderPublic:
    """Put the order's held requests back in the queue (409 when none is held)."""
    return order_public(store.release_order(session, order_id, principal))


class LabelsQueued(BaseModel):
    order_id: str
    queued: int
    printer: str


@router.post("/{order_id}/labels", response_model=LabelsQueued, status_code=202)
def reprint_labels(
    order_id: str, request: Request, principal: OperatorDep, settings: SettingsDep
) -> LabelsQueued:
    """Queue the order's mailing labels again (one per request); the dispatcher prints them."""
    printer = printer_from_setting(settings.label_printer, data_dir=settings.data_dir)
    queued = reprint_order(
        get_database(request),
        order_id,
        printer=printer.name,
        sheet=settings.label_sheet,
        actor=principal.name,
    )
    return LabelsQueued(order_id=order_id, queued=queued, printer=printer.name)

"""``/api/v1/orders``: place, read and cancel orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel

from discflow import store
from discflow.dispatcher import printer_from_setting, reprint_order
from discflow.store import OrderLine
from discflow.web.deps import (
    Count,
    OperatorDep,
    SessionDep,
    SettingsDep,
    UserDep,
    get_database,
)
from discflow.web.routes._convert import order_public
from discflow.web.schemas import OrderCreate, OrderPublic

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", status_code=201, response_model=OrderPublic)
def create_order(
    body: OrderCreate,
    session: SessionDep,
    principal: UserDep,
    response: Response,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> OrderPublic:
    """Place an order of one or more requests; a retried POST with the same
    ``Idempotency-Key`` returns the first order instead of making a second."""
    placed = store.place_order(
        session,
        principal,
        [OrderLine(r.content_id, r.media, r.copies) for r in body.requests],
        body.ship_to.to_domain(),
        idempotency_key=idempotency_key,
        source="api",
        priority=body.priority,
        quota=store.OrderQuota.from_settings(settings),
    )
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/orders/{placed.order.id}"
    return order_public(placed.order)


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

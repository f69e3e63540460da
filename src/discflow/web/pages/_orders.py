"""Customer order pages: the order form, the list, and one order with its live state.

Invariants:
- Orders are placed through ``store.place_order`` (same checks and task-log
  events as the API), with ``source="web"``.
- The form only offers media the chosen content fits on; the server checks
  again, so a hand-edited form gets a readable error, not a wrong disc.
- A customer reads only their own orders (``store.get_order`` refuses others
  with 403); operators read every order.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from discflow import store
from discflow.dispatcher._printing import printer_from_setting, reprint_order
from discflow.domain import REQUEST_FINAL, Address, RequestState
from discflow.errors import InvalidInput, NotFound
from discflow.settings import Settings
from discflow.store import Content, Event, Order, OrderLine, Role
from discflow.store._tables import SavedAddress
from discflow.web.pages._common import (
    CsrfDep,
    PageRoute,
    PageSession,
    SignedInDep,
    render,
    see_other,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


def saved_addresses(session: Session, user_id: int | None) -> list[SavedAddress]:
    return list(
        session.scalars(
            select(SavedAddress).where(SavedAddress.user_id == user_id).order_by(SavedAddress.id)
        )
    )


def timeline(session: Session, order: Order, *, limit: int = 300) -> list[Event]:
    """The order's task log: its own events and those of its requests (disc events
    carry only the request id)."""
    ids = [r.id for r in order.requests]
    query = select(Event).where(or_(Event.order_id == order.id, Event.request_id.in_(ids)))
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


def _address_from(form: dict[str, str]) -> Address:
    lines = tuple(line for line in (form.get("line1", ""), form.get("line2", "")) if line.strip())
    return Address(
        name=form.get("name", "").strip(),
        lines=lines,
        city=form.get("city", "").strip(),
        postal_code=form.get("postal_code", "").strip(),
        country=form.get("country", "").strip().upper(),
        region=form.get("region", "").strip() or None,
    )


def _contents(session: Session) -> list[Content]:
    return list(session.scalars(select(Content).order_by(Content.title)))


def _form_page(
    request: Request,
    session: Session,
    current: Any,
    *,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    contents = _contents(session)
    chosen = next((c for c in contents if c.id == values.get("content_id")), None)
    if chosen is None and contents:
        chosen = contents[0]
    return render(
        request,
        "order_form.html",
        {
            "title": "New order",
            "contents": contents,
            "chosen": chosen,
            "media_options": [m.name for m in store.fitting_media(chosen)] if chosen else [],
            "saved": saved_addresses(session, current.principal.user_id),
            "values": values,
            "error": error,
        },
        status=status,
    )


@router.get("/orders")
def order_list(request: Request, session: PageSession, current: SignedInDep) -> Response:
    orders = store.list_orders(session, current.principal, limit=200)
    return render(
        request,
        "orders.html",
        {
            "title": "Orders",
            "orders": orders,
            "states": {o.id: store.order_state(o) for o in orders},
            "titles": {c.id: c.title for c in _contents(session)},
        },
    )


@router.get("/orders/new")
def order_form(
    request: Request, session: PageSession, current: SignedInDep, content: str = ""
) -> Response:
    values = {"content_id": content, "copies": "1", "media": "", "ship": ""}
    return _form_page(request, session, current, values=values)


@router.get("/orders/new/media")
def media_options(
    request: Request, session: PageSession, current: SignedInDep, content_id: str = ""
) -> Response:
    """The media select for one content (htmx swaps it in when the content changes)."""
    content = store.get_content(session, content_id)
    return render(
        request,
        "_media_select.html",
        {"media_options": [m.name for m in store.fitting_media(content)], "selected": ""},
    )


@router.post("/orders")
async def place(request: Request, session: PageSession, current: CsrfDep) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    principal = current.principal
    try:
        try:
            copies = int(form.get("copies", ""))
        except ValueError:
            raise InvalidInput("copies must be a whole number, such as 2") from None
        ship = form.get("ship", "new")
        if ship and ship != "new":
            row = session.get(SavedAddress, int(ship)) if ship.isdigit() else None
            if row is None or row.user_id != principal.user_id:
                raise InvalidInput("that saved address is not yours; pick another one")
            ship_to = Address(**{**row.address, "lines": tuple(row.address["lines"])})
        else:
            ship_to = _address_from(form)
        line = OrderLine(form.get("content_id", ""), form.get("media", ""), copies)
        # place_order checks everything before it adds a row, so a refusal leaves
        # nothing behind in this transaction
        quota = store.OrderQuota.from_settings(request.app.state.settings)
        placed = store.place_order(
            session, principal, [line], ship_to, source="web", quota=quota
        )
    except (InvalidInput, NotFound) as error:
        return _form_page(request, session, current, values=form, error=str(error), status=422)
    if (not ship or ship == "new") and form.get("save_address") == "yes":
        session.add(
            SavedAddress(
                user_id=principal.user_id,
                label=form.get("address_label", "").strip()[:64] or ship_to.name,
                address={
                    "name": ship_to.name,
                    "lines": list(ship_to.lines),
                    "city": ship_to.city,
                    "postal_code": ship_to.postal_code,
                    "country": ship_to.country,
                    "region": ship_to.region,
                },
            )
        )
    return see_other(f"/orders/{placed.order.id}")


def _detail_context(session: Session, order: Order) -> dict[str, Any]:
    state = store.order_state(order)
    return {
        "order": order,
        "state": state,
        "final": all(RequestState(r.state) in REQUEST_FINAL for r in order.requests),
        "events": timeline(session, order),
        "titles": {r.content_id: r.content.title for r in order.requests},
    }


@router.get("/orders/{order_id}")
def order_detail(
    order_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    order = store.get_order(session, order_id, current.principal)
    return render(
        request,
        "order.html",
        {"title": f"Order {order.id}", **_detail_context(session, order)},
    )


@router.get("/orders/{order_id}/live")
def order_live(
    order_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    """The live part of the order page, polled by htmx until every request is final."""
    order = store.get_order(session, order_id, current.principal)
    return render(request, "_order_live.html", _detail_context(session, order))


@router.post("/orders/{order_id}/cancel")
def cancel(order_id: str, request: Request, session: PageSession, current: CsrfDep) -> Response:
    store.cancel_order(session, order_id, current.principal)
    return see_other(f"/orders/{order_id}")


@router.post("/orders/{order_id}/labels")
def reprint(order_id: str, request: Request, current: CsrfDep) -> Response:
    """Operators: queue this order's mailing labels again (after a printer jam, say)."""
    current.principal.require(Role.OPERATOR)
    settings: Settings = request.app.state.settings
    printer = printer_from_setting(settings.label_printer, data_dir=settings.data_dir)
    reprint_order(
        request.app.state.database,
        order_id,
        printer=printer.name,
        sheet=settings.label_sheet,
        actor=current.principal.name,
    )
    return see_other(f"/orders/{order_id}")

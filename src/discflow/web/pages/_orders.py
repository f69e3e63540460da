"""Customer order pages: the order form, the list, and one order with its live state.

Invariants:
- Orders are placed through ``store.place_order`` (same checks and task-log
  events as the API), with ``source="web"``.
- The form only offers media the chosen content fits on; the server checks
  again, so a hand-edited form gets a readable error, not a wrong disc.
- A customer reads only their own orders; another customer's order answers
  the very 404 a made-up id gets, so ids cannot be guessed. Operators read
  every order.
- Customers read their order's story in plain words (``_story``); the raw
  task log with event names and devices is for operators.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from discflow import store
from discflow.dispatcher import label_format, label_item, printer_from_setting, reprint_order
from discflow.domain import MAX_COPIES, REQUEST_FINAL, Address, Priority, RequestState
from discflow.errors import InvalidInput, NotFound, PermissionDenied
from discflow.labels import render_sheet
from discflow.settings import Settings
from discflow.store import Content, Event, Order, OrderLine, Principal, Role, SavedAddress
from discflow.web.pages._common import (
    CsrfDep,
    PageRoute,
    PageSession,
    SignedInDep,
    flash,
    render,
    see_other,
    whole_number,
)
from discflow.web.pages._progress import describe_eta, outlook, planned_ends, shown_state
from discflow.web.pages._story import RequestFacts, customer_story

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")
# the new-address inputs a label needs, by the words the form shows
REQUIRED_ADDRESS = {
    "name": "Recipient",
    "line1": "Street and number",
    "postal_code": "Postal code",
    "city": "City",
    "country": "Country",
}


class FormProblems(InvalidInput):
    """Several fields of one form are wrong; ``fields`` maps each input to its problem."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("check " + "; ".join(fields.values()))


def readable_order(session: Session, order_id: str, principal: Principal) -> Order:
    """The order, or the one 404 a made-up id gets too (ids are not confirmed to guessers)."""
    try:
        return store.get_order(session, order_id, principal)
    except PermissionDenied:
        raise NotFound(f"no order with id {order_id!r}") from None


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


def _address_problems(form: dict[str, str]) -> dict[str, str]:
    problems = {
        key: f"{words} is empty"
        for key, words in REQUIRED_ADDRESS.items()
        if not form.get(key, "").strip()
    }
    country = form.get("country", "").strip()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        problems["country"] = "Country must be two letters, such as US or DE"
    return problems


def _address_from(form: dict[str, str]) -> Address:
    problems = _address_problems(form)
    if problems:
        raise FormProblems(problems)
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
    fields: dict[str, str] | None = None,
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
            "fields": fields or {},
            "required_address": REQUIRED_ADDRESS,
            "priorities": [p.value for p in Priority],
            "max_copies": MAX_COPIES,
        },
        status=status,
    )


@router.get("/orders/new")
def order_form(
    request: Request, session: PageSession, current: SignedInDep, content: str = ""
) -> Response:
    values = {"content_id": content, "copies": "1", "media": "", "ship": "", "priority": "normal"}
    return _form_page(request, session, current, values=values)


@router.get("/orders/new/media")
def media_options(
    request: Request, session: PageSession, current: SignedInDep, content_id: str = ""
) -> Response:
    """The media select for one content (htmx swaps it in when the content changes)."""
    content = store.check_visible(store.get_content(session, content_id), current.principal)
    return render(
        request,
        "_media_select.html",
        {"media_options": [m.name for m in store.fitting_media(content)], "selected": ""},
    )


def _priority(form: dict[str, str]) -> Priority:
    given = form.get("priority", "normal") or "normal"
    try:
        return Priority(given)
    except ValueError:
        raise InvalidInput(
            f"priority {given[:20]!r}: choose one of {', '.join(p.value for p in Priority)}"
        ) from None


def _ship_to(session: Session, form: dict[str, str], principal: Principal) -> Address:
    ship = form.get("ship", "new")
    if not ship or ship == "new":
        return _address_from(form)
    try:
        saved_id = whole_number(ship, what="saved address", low=1, high=2**31 - 1)
    except InvalidInput:
        saved_id = 0
    row = session.get(SavedAddress, saved_id) if saved_id else None
    if row is None or row.user_id != principal.user_id:
        raise InvalidInput("that saved address is not yours; pick another one")
    return Address(**{**row.address, "lines": tuple(row.address["lines"])})


@router.post("/orders")
async def place(request: Request, session: PageSession, current: CsrfDep) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    principal = current.principal
    try:
        copies = whole_number(form.get("copies", ""), what="Copies", low=1, high=MAX_COPIES)
        priority = _priority(form)
        ship_to = _ship_to(session, form, principal)
        line = OrderLine(form.get("content_id", ""), form.get("media", ""), copies)
        # place_order checks everything before it adds a row, so a refusal leaves
        # nothing behind in this transaction
        quota = store.OrderQuota.from_settings(request.app.state.settings)
        placed = store.place_order(
            session, principal, [line], ship_to, source="web", priority=priority, quota=quota
        )
    except FormProblems as problems:
        return _form_page(
            request,
            session,
            current,
            values=form,
            error=f"Please fill in the address: {'; '.join(problems.fields.values())}.",
            fields=problems.fields,
            status=422,
        )
    except (InvalidInput, NotFound) as error:
        return _form_page(request, session, current, values=form, error=str(error), status=422)
    ship = form.get("ship", "new")
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


def _ahead(session: Session, order: Order) -> dict[str, int]:
    """Per request: discs of the same media still to make for older requests."""
    # held requests are not ahead: nothing of them is made until they are released
    open_states = [
        s.value for s in RequestState if s not in REQUEST_FINAL and s != RequestState.HELD
    ]
    ahead: dict[str, int] = {}
    for mine in order.requests:
        older = session.execute(
            select(store.Request.copies, store.Request.good_copies).where(
                store.Request.state.in_(open_states),
                store.Request.media == mine.media,
                store.Request.created_at < mine.created_at,
            )
        ).all()
        ahead[mine.id] = sum(max(0, copies - good) for copies, good in older)
    return ahead


def _detail_context(session: Session, order: Order, *, operator: bool) -> dict[str, Any]:
    state = shown_state(order)
    devices = store.list_devices(session)
    now = store.utcnow()
    ahead = _ahead(session, order)
    planned = planned_ends(session, list(order.requests))
    outlooks = {
        r.id: outlook(
            r,
            devices=devices,
            ahead_discs=ahead[r.id],
            size_bytes=r.content.size_bytes,
            now=now,
            planned_end=planned.get(r.id),
        )
        for r in order.requests
    }
    events = timeline(session, order)
    facts = [RequestFacts(r.id, r.content.title, r.media, r.copies) for r in order.requests]
    return {
        "order": order,
        "state": state,
        "final": all(RequestState(r.state) in REQUEST_FINAL for r in order.requests),
        "can_hold": any(r.state == RequestState.QUEUED for r in order.requests),
        "can_release": any(r.state == RequestState.HELD for r in order.requests),
        "events": events if operator else [],
        "story": [] if operator else customer_story(events, facts),
        "titles": {r.content_id: r.content.title for r in order.requests},
        "waiting": {rid: o.waiting_for for rid, o in outlooks.items()},
        "eta": {
            rid: describe_eta(o.ready_by, now)
            for rid, o in outlooks.items()
            if o.ready_by is not None
        },
    }


def _is_operator(principal: Principal) -> bool:
    return principal.role is not None and principal.role.at_least(Role.OPERATOR)


@router.get("/orders/{order_id}")
def order_detail(
    order_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    order = readable_order(session, order_id, current.principal)
    operator = _is_operator(current.principal)
    return render(
        request,
        "order.html",
        {"title": f"Order {order.id}", **_detail_context(session, order, operator=operator)},
    )


@router.get("/orders/{order_id}/live")
def order_live(
    order_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    """The live part of the order page, polled by htmx until every request is final."""
    order = readable_order(session, order_id, current.principal)
    operator = _is_operator(current.principal)
    return render(request, "_order_live.html", _detail_context(session, order, operator=operator))


@router.post("/orders/{order_id}/cancel")
def cancel(order_id: str, request: Request, session: PageSession, current: CsrfDep) -> Response:
    readable_order(session, order_id, current.principal)
    store.cancel_order(session, order_id, current.principal)
    return flash(
        see_other(f"/orders/{order_id}"),
        "Cancelled what was not made yet; discs already made still ship.",
    )


@router.post("/orders/{order_id}/hold")
def hold(order_id: str, request: Request, session: PageSession, current: CsrfDep) -> Response:
    readable_order(session, order_id, current.principal)
    store.hold_order(session, order_id, current.principal)
    return flash(
        see_other(f"/orders/{order_id}"),
        "Held: nothing more of this order is planned until it is released.",
    )


@router.post("/orders/{order_id}/release")
def release(order_id: str, request: Request, session: PageSession, current: CsrfDep) -> Response:
    readable_order(session, order_id, current.principal)
    store.release_order(session, order_id, current.principal)
    return flash(see_other(f"/orders/{order_id}"), "Released: back in the queue in its place.")


@router.post("/orders/{order_id}/labels")
def reprint(order_id: str, request: Request, current: CsrfDep) -> Response:
    """Operators: queue this order's mailing labels again (after a printer jam, say)."""
    current.principal.require(Role.OPERATOR)
    settings: Settings = request.app.state.settings
    printer = printer_from_setting(settings.label_printer, data_dir=settings.data_dir)
    count = reprint_order(
        request.app.state.database,
        order_id,
        printer=printer.name,
        sheet=settings.label_sheet,
        actor=current.principal.name,
    )
    labels = f"{count} mailing label{'' if count == 1 else 's'}"
    return flash(
        see_other(f"/orders/{order_id}"),
        f"Re-print queued: {labels} will print on {printer.name} within a few seconds.",
    )


@router.get("/orders/{order_id}/labels.pdf")
def label_download(
    order_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    """The order's mailing labels as the printer gets them, for its customer and operators."""
    order = readable_order(session, order_id, current.principal)
    settings: Settings = request.app.state.settings
    items = [label_item(order, r) for r in order.requests]
    pdf = render_sheet(items, sheet=settings.label_sheet, fmt=label_format("pdf"))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{order.id}-labels.pdf"',
            "Cache-Control": "no-store",
        },
    )

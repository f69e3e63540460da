"""Order intake and request lifecycles (claim 4's task log is written here).

Invariants:
- An order and all its requests are created in one transaction, with an
  ``order.received`` event and one ``request.queued`` event per request.
- A request's state only changes through ``transition_request``, which checks
  the lifecycle table and records the matching event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from discflow.domain import (
    REQUEST_FINAL,
    REQUEST_LIFECYCLE,
    Address,
    Priority,
    RequestLine,
    RequestState,
    check_fits,
)
from discflow.errors import InvalidInput, NotFound, PermissionDenied
from discflow.labels import missing_glyphs
from discflow.settings import Settings
from discflow.store._auth import OrderQuota, Principal, Role, check_order_quota
from discflow.store._catalog import check_visible, get_content
from discflow.store._events import record
from discflow.store._ids import new_id
from discflow.store._tables import IdempotencyKey, Order, Request, User

MAX_REQUESTS_PER_ORDER = 100


class IdempotencyKeyInUse(InvalidInput):
    """Another request with the same ``Idempotency-Key`` was placing its order at the
    same moment and won; HTTP answers 409, and a retry replays the winner's order."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One requested line as the caller gave it, before validation."""

    content_id: str
    media: str
    copies: int


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    replayed: bool  # True when an Idempotency-Key matched an earlier order


def order_priority(order: Order) -> Priority:
    """The most urgent priority among the order's requests (normal when it has none)."""
    priorities = [Priority(r.priority) for r in order.requests]
    return max(priorities, key=lambda p: p.rank, default=Priority.NORMAL)


def order_state(order: Order) -> str:
    """An order's state, derived from its requests (never stored, never stale)."""
    states = {RequestState(r.state) for r in order.requests}
    if not states:
        return "empty"
    if states == {RequestState.CANCELLED}:
        return "cancelled"
    if states <= REQUEST_FINAL:
        return "failed" if RequestState.FAILED in states else "done"
    if RequestState.HELD in states and states <= REQUEST_FINAL | {RequestState.HELD}:
        return "held"
    if states <= {RequestState.RECEIVED, RequestState.QUEUED, RequestState.HELD}:
        return "queued"
    return "in-progress"


def address_fields(address: Address) -> dict[str, Any]:
    """``dataclasses.asdict(address)`` without its deep copies (this runs for every order)."""
    return {
        "name": address.name,
        "lines": address.lines,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": address.country,
        "region": address.region,
    }


def order_body_hash(lines: Sequence[OrderLine], ship_to: Address, priority: Priority) -> str:
    body: dict[str, Any] = {
        "lines": [
            {"content_id": line.content_id, "media": line.media, "copies": line.copies}
            for line in lines
        ],
        "ship_to": address_fields(ship_to),
    }
    if priority is not Priority.NORMAL:
        # only when set: keys stored before priorities existed still match their retries
        body["priority"] = priority.value
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_label_glyphs(ship_to: Address) -> None:
    """Refuse now an address whose label would fail after the discs are burned."""
    parts = (ship_to.name, *ship_to.lines, ship_to.city, ship_to.postal_code, ship_to.region or "")
    missing = missing_glyphs(" ".join(parts))
    if missing:
        raise InvalidInput(
            f"ship_to has characters no label font can draw ({missing}): write the address"
            " in Latin, Cyrillic, Greek or Japanese script"
        )


def check_order_shape(principal: Principal, lines: Sequence[OrderLine]) -> None:
    if principal.user_id is None:
        raise PermissionDenied("only a signed-in user can place an order")
    if not lines:
        raise InvalidInput("an order needs at least one request")
    if len(lines) > MAX_REQUESTS_PER_ORDER:
        raise InvalidInput(f"an order holds at most {MAX_REQUESTS_PER_ORDER} requests")


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters")


def checked_lines(lines: Sequence[OrderLine], size_of: Callable[[str], int]) -> list[RequestLine]:
    """Each line parsed and checked against its content's size (``size_of`` raises
    ``NotFound`` for an unknown content); a refusal names the line it is about."""
    parsed: list[RequestLine] = []
    for index, line in enumerate(lines):
        try:
            request_line = RequestLine.parse(line.content_id, line.media, line.copies)
            check_fits(
                content_id=line.content_id,
                size_bytes=size_of(line.content_id),
                media=request_line.media,
            )
        except (InvalidInput, NotFound) as error:
            prefix = f"requests[{index}]: " if len(lines) > 1 else ""
            raise type(error)(prefix + str(error)) from error
        parsed.append(request_line)
    return parsed


def place_order(
    session: Session,
    principal: Principal,
    lines: Sequence[OrderLine],
    ship_to: Address,
    *,
    idempotency_key: str | None = None,
    source: str = "api",
    priority: Priority = Priority.NORMAL,
    quota: OrderQuota | None = None,
) -> PlacedOrder:
    """Validate and store an order; every refusal says what to fix.

    ``priority`` applies to every request of the order."""
    check_order_shape(principal, lines)
    check_idempotency_key(idempotency_key)
    body_hash = order_body_hash(lines, ship_to, priority)
    if idempotency_key is not None:
        replayed = _replayed_order(session, principal, idempotency_key, body_hash)
        if replayed is not None:
            return replayed
    parsed = checked_lines(
        lines, lambda cid: check_visible(get_content(session, cid), principal).size_bytes
    )
    check_label_glyphs(ship_to)
    check_order_quota(
        session,
        principal,
        sum(line.copies for line in parsed),
        quota or OrderQuota.from_settings(Settings()),
    )
    order = _add_order_rows(session, principal, parsed, ship_to, source=source, priority=priority)
    if idempotency_key is not None:
        # The unique (user, key) row is the arbiter between concurrent retries that
        # all missed the lookup above (e.g. on different API workers): the loser's
        # whole transaction, order included, is rolled back by the caller.
        session.add(
            IdempotencyKey(
                user_id=principal.user_id,
                key=idempotency_key,
                body_hash=body_hash,
                order=order,
            )
        )
    _flush_order(session, idempotency_key)
    return PlacedOrder(order, replayed=False)


def _replayed_order(
    session: Session, principal: Principal, idempotency_key: str, body_hash: str
) -> PlacedOrder | None:
    """The order an earlier call with this key placed, or None; a key reused for a
    different body is refused."""
    earlier = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == principal.user_id, IdempotencyKey.key == idempotency_key
        )
    )
    if earlier is None:
        return None
    if earlier.body_hash != body_hash:
        raise InvalidInput(
            f"Idempotency-Key {idempotency_key!r} was already used for a different order"
            f" ({earlier.order_id}); use a new key for a new order"
        )
    return PlacedOrder(get_order(session, earlier.order_id, principal), replayed=True)


def _add_order_rows(
    session: Session,
    principal: Principal,
    parsed: Sequence[RequestLine],
    ship_to: Address,
    *,
    source: str,
    priority: Priority,
) -> Order:
    """The order, its requests (queued) and their task-log events, added to the session."""
    order = Order(
        id=new_id("ORD"),
        user_id=principal.user_id,
        # usually already in the session (the token lookup loaded it): saves the
        # lazy load that showing the order's user would cost
        user=session.get(User, principal.user_id),
        ship_to=asdict(ship_to),
        source=source,
    )
    session.add(order)
    record(
        session,
        "order.received",
        f"order of {len(parsed)} request(s) received via {source}",
        order_id=order.id,
        actor=principal.name,
    )
    for position, request_line in enumerate(parsed):
        request = Request(
            id=new_id("REQ"),
            order=order,
            order_id=order.id,  # known now, so the event below needs no flush first
            position=position,
            content_id=request_line.content_id,
            media=request_line.media.name,
            copies=request_line.copies,
            state=RequestState.RECEIVED.value,
            priority=priority.value,
        )
        session.add(request)
        transition_request(
            session,
            request,
            RequestState.QUEUED,
            actor=principal.name,
            message=(
                f"{request_line.copies} x {request_line.media.name} of {request_line.content_id}"
            ),
        )
    return order


def _flush_order(session: Session, idempotency_key: str | None) -> None:
    """One flush for the whole order (its rows go out in a few batched statements); a
    concurrent retry that won the idempotency key's race is said so."""
    try:
        session.flush()
    except IntegrityError as error:
        if idempotency_key is None or "idempotency_keys" not in str(error.orig):
            raise
        raise IdempotencyKeyInUse(
            f"another request with Idempotency-Key {idempotency_key!r} placed its order "
            "at the same moment; retry this request to get that order"
        ) from error


def transition_request(
    session: Session,
    request: Request,
    target: RequestState,
    *,
    actor: str = "system",
    message: str = "",
    reason: str = "",
    device: str | None = None,
    job_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    REQUEST_LIFECYCLE.check(RequestState(request.state), target, subject=request.id)
    request.state = target.value
    if reason:
        request.reason = reason
    record(
        session,
        f"request.{target.value}",
        message or reason,
        order_id=request.order_id,
        request_id=request.id,
        content_id=request.content_id,
        device=device,
        job_id=job_id,
        actor=actor,
        data=data,
    )


def _visible(order: Order, principal: Principal) -> bool:
    return principal.role is not None and (
        principal.role.at_least(Role.OPERATOR) or order.user_id == principal.user_id
    )


def get_order(session: Session, order_id: str, principal: Principal) -> Order:
    order = session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.requests))
    )
    if order is None or not _visible(order, principal):
        # another customer's order answers exactly like a made-up id, so that ids
        # cannot be probed for existence (issue #18 item 9)
        raise NotFound(f"no order with id {order_id!r}")
    return order


def list_orders(
    session: Session, principal: Principal, *, limit: int = 50, offset: int = 0
) -> list[Order]:
    query = select(Order).options(selectinload(Order.requests))
    if principal.role is None or not principal.role.at_least(Role.OPERATOR):
        query = query.where(Order.user_id == principal.user_id)
    query = query.order_by(Order.created_at.desc(), Order.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def cancel_order(session: Session, order_id: str, principal: Principal) -> Order:
    """Cancel every request that is not final yet; finished discs stay finished."""
    order = get_order(session, order_id, principal)
    pending = [r for r in order.requests if RequestState(r.state) not in REQUEST_FINAL]
    if not pending:
        raise InvalidInput(f"order {order_id!r} is already {order_state(order)}; nothing to cancel")
    for request in pending:
        transition_request(
            session,
            request,
            RequestState.CANCELLED,
            actor=principal.name,
            reason=f"cancelled by {principal.name}",
        )
    record(
        session,
        "order.cancelled",
        f"cancelled by {principal.name}",
        order_id=order.id,
        actor=principal.name,
    )
    return order


def get_request(session: Session, request_id: str) -> Request:
    request = session.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request with id {request_id!r}")
    return request

"""Finding orders: filters by customer, state, content, date and device, with paging.

Invariants:
- One query shape for the page, the CSV export and the benchmark: every
  filter is a SQL condition (EXISTS over requests or jobs), so a page of 50
  out of 10,000 orders costs one indexed query and one count, not a scan in
  Python.
- A customer's search is always narrowed to their own orders first.
- Text filters match case-insensitively as substrings, with ``%``/``_``
  taken literally.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import Session, selectinload

from discflow.domain import REQUEST_ACTIVE, RequestState
from discflow.errors import InvalidInput
from discflow.store import Content, Job, Order, Principal, Role, User
from discflow.store import Request as DiscRequest
from discflow.web.pages._progress import shown_state

PAGE_SIZE = 50
# the states a person filters by, and the request states each one covers
STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "queued": (RequestState.RECEIVED.value, RequestState.QUEUED.value),
    "held": (RequestState.HELD.value,),
    "in-progress": tuple(s.value for s in REQUEST_ACTIVE),
    "done": (RequestState.DONE.value,),
    "failed": (RequestState.FAILED.value,),
    "cancelled": (RequestState.CANCELLED.value,),
}


@dataclass(frozen=True, slots=True)
class OrderFilter:
    text: str = ""  # order id or part of it
    customer: str = ""
    state: str = ""
    content: str = ""  # title or content id, part of it
    device: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    page: int = 1

    @property
    def active(self) -> bool:
        return any(
            (
                self.text,
                self.customer,
                self.state,
                self.content,
                self.device,
                self.since,
                self.until,
            )
        )


def parse_date(text: str, *, what: str) -> date | None:
    given = text.strip()
    if not given:
        return None
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise InvalidInput(f"{what}: {given[:20]!r} is not a date like 2026-03-31") from None


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(given: OrderFilter, principal: Principal) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if principal.role is None or not principal.role.at_least(Role.OPERATOR):
        where.append(Order.user_id == principal.user_id)
    if given.text.strip():
        where.append(func.lower(Order.id).like(_like(given.text), escape="\\"))
    if given.customer.strip():
        where.append(
            exists().where(
                User.id == Order.user_id, func.lower(User.name).like(_like(given.customer), "\\")
            )
        )
    if given.state:
        states = STATE_FILTERS.get(given.state)
        if states is None:
            raise InvalidInput(f"state {given.state[:20]!r}: use one of {', '.join(STATE_FILTERS)}")
        where.append(
            exists().where(DiscRequest.order_id == Order.id, DiscRequest.state.in_(states))
        )
    if given.content.strip():
        pattern = _like(given.content)
        where.append(
            exists().where(
                DiscRequest.order_id == Order.id,
                Content.id == DiscRequest.content_id,
                func.lower(Content.title).like(pattern, escape="\\")
                | func.lower(Content.id).like(pattern, escape="\\"),
            )
        )
    if given.device.strip():
        where.append(
            exists().where(
                DiscRequest.order_id == Order.id,
                Job.request_id == DiscRequest.id,
                Job.device == given.device.strip(),
            )
        )
    if given.since is not None:
        where.append(Order.created_at >= datetime.combine(given.since, time(), UTC))
    if given.until is not None:
        end = datetime.combine(given.until + timedelta(days=1), time(), UTC)
        where.append(Order.created_at < end)
    return where


def _query(given: OrderFilter, principal: Principal) -> Select[Order]:
    return select(Order).where(and_(True, *_conditions(given, principal)))


def search_orders(
    session: Session, given: OrderFilter, principal: Principal, *, page_size: int = PAGE_SIZE
) -> tuple[list[Order], int]:
    """One page of matching orders, newest first, and how many match in all."""
    total = (
        session.scalar(select(func.count()).select_from(_query(given, principal).subquery())) or 0
    )
    page = max(1, given.page)
    rows = session.scalars(
        _query(given, principal)
        .options(selectinload(Order.requests), selectinload(Order.user))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return list(rows), int(total)


def all_matching(session: Session, given: OrderFilter, principal: Principal) -> Iterable[Order]:
    """Every matching order, newest first, in batches (for the CSV export)."""
    query = (
        _query(given, principal)
        .options(selectinload(Order.requests), selectinload(Order.user))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .execution_options(yield_per=500)
    )
    yield from session.scalars(query)


def _cell(value: str) -> str:
    # a spreadsheet runs a cell that starts with = + - @ as a formula
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def orders_csv(orders: Iterable[Order], titles: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "order",
            "placed_utc",
            "customer",
            "state",
            "request",
            "content",
            "media",
            "copies",
            "good",
            "failed",
            "request_state",
        ]
    )
    for order in orders:
        state = shown_state(order)
        for request in order.requests:
            writer.writerow(
                [
                    order.id,
                    order.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                    _cell(order.user.name),
                    state,
                    request.id,
                    _cell(titles.get(request.content_id, request.content_id)),
                    request.media,
                    request.copies,
                    request.good_copies,
                    request.failed_copies,
                    request.state,
                ]
            )
    return out.getvalue()

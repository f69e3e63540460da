"""Lists of orders: search and filters with paging, and the CSV export.

Invariant: the page and the export run the same ``_order_search`` query, so a
spreadsheet holds exactly the orders the page found.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from discflow import store
from discflow.store import Content, Principal, Role
from discflow.web.pages._common import PageRoute, PageSession, SignedInDep, render
from discflow.web.pages._order_search import (
    PAGE_SIZE,
    STATE_FILTERS,
    OrderFilter,
    all_matching,
    orders_csv,
    parse_date,
    search_orders,
)
from discflow.web.pages._progress import shown_state

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _is_operator(principal: Principal) -> bool:
    return principal.role is not None and principal.role.at_least(Role.OPERATOR)


def _titles(session: PageSession) -> dict[str, str]:
    return dict(session.execute(select(Content.id, Content.title)).all())


def _order_filter(
    q: str = "",
    customer: str = "",
    state: str = "",
    content: str = "",
    device: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> OrderFilter:
    """The search form's query string, bounded, as one filter (the page and the CSV)."""
    return OrderFilter(
        text=q[:64],
        customer=customer[:64],
        state=state.strip(),
        content=content[:200],
        device=device[:64],
        since=parse_date(since, what="From"),
        until=parse_date(until, what="To"),
        page=max(1, min(page, 100_000)),
    )


FilterDep = Annotated[OrderFilter, Depends(_order_filter)]


@router.get("/orders")
def order_list(
    request: Request, session: PageSession, current: SignedInDep, given: FilterDep
) -> Response:
    orders, total = search_orders(session, given, current.principal)
    params = {
        "q": given.text,
        "customer": given.customer,
        "state": given.state,
        "content": given.content,
        "device": given.device,
        "since": given.since.isoformat() if given.since else "",
        "until": given.until.isoformat() if given.until else "",
    }
    return render(
        request,
        "orders.html",
        {
            "title": "Orders",
            "orders": orders,
            "total": total,
            "filters": params,
            "query": urlencode({k: v for k, v in params.items() if v}),
            "page": given.page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "state_filters": list(STATE_FILTERS),
            "device_names": [d.name for d in store.list_devices(session)]
            if _is_operator(current.principal)
            else [],
            "states": {o.id: shown_state(o) for o in orders},
            "titles": _titles(session),
        },
    )


@router.get("/orders.csv")
def order_export(
    request: Request, session: PageSession, current: SignedInDep, given: FilterDep
) -> Response:
    """The matching orders as CSV, one row per request (for a spreadsheet)."""
    titles = _titles(session)
    body = orders_csv(all_matching(session, given, current.principal), titles)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="orders.csv"',
            "Cache-Control": "no-store",
        },
    )

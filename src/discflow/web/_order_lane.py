"""``POST /api/v1/orders`` answered before FastAPI's routing, for the common call.

An order's own work (checks, ids, one transaction) costs less than the way to it through
FastAPI: the middleware layers below this one, route matching, dependency solving and
the endpoint wrapper were ~40 % of an order's event-loop CPU. This lane takes the call
that needs none of what they add (a bearer token already known, a JSON body that
validates, a new order) and hands every other call, unchanged, to the full stack.

Invariants:
- Whatever this lane answers, the route (``web.routes.orders.create_order``) would have
  answered the same: the same token look-up (``Database.hot``), the same body model
  validated the way FastAPI validates it (``json.loads``, then ``validate_python`` with
  ``from_attributes``), the same ``HotPath.place_order``, the same 201 body and headers,
  counted under the same route by the metrics layer, and the in-process dispatcher woken.
- It answers only a 201 for an order it wrote. Everything else goes to the full stack with
  the body it read replayed: an unknown or missing token, a cookie, an odd content type
  or size, a body that does not parse or validate (so every 422 is FastAPI's own), an
  order the checks refuse (they raise before anything is written, and the quota's check
  raises inside a transaction that is rolled back), a taken Idempotency-Key (nothing was
  written; the route replays or refuses). The full stack then runs the call from the
  start: an error costs the checks twice, a new order is never written twice.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from discflow.errors import DiscflowError
from discflow.store import Database, OrderLine, OrderQuota, Principal
from discflow.web.routes._convert import JSON, placed_order_public
from discflow.web.schemas import OrderCreate

__all__ = ["ORDERS_PATH", "OrderLane"]

ORDERS_PATH = "/api/v1/orders"
_ORDER_BODY = TypeAdapter(OrderCreate)
# a header that appears twice is the full stack's to judge, as is any other content type
_WATCHED = frozenset({b"authorization", b"content-type", b"content-length", b"idempotency-key"})
_CONTENT_TYPE = b"content-type"


class _NotForTheLane(Exception):
    """This call is the full stack's."""


class OrderLane:
    def __init__(self, app: ASGIApp, *, route: BaseRoute, body_limit: int) -> None:
        self.app = app
        self.route = route  # the metrics label, as if FastAPI had matched the route
        self.body_limit = body_limit  # BodySizeLimit's for this path: larger goes there

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and _is_orders(scope)):
            await self.app(scope, receive, send)
            return
        headers = _watched_headers(scope)
        if headers is None or not self._takes(headers):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        try:
            body = await _read_body(receive, received, self.body_limit)
            answer = await _place(scope, headers, body)
        except _NotForTheLane:
            await self.app(scope, _replaying(received, receive), send)
            return
        scope["route"] = self.route
        await send({"type": "http.response.start", "status": 201, "headers": answer[0]})
        await send({"type": "http.response.body", "body": answer[1]})
        dispatcher = getattr(scope["app"].state, "dispatcher", None)
        if dispatcher is not None:  # as WakeDispatcher does after a change that succeeded
            dispatcher.wake()

    def _takes(self, headers: dict[bytes, bytes]) -> bool:
        length = headers.get(b"content-length", b"")
        return (
            headers.get(_CONTENT_TYPE, b"").lower() == JSON.encode()
            and length.isdigit()
            and int(length) <= self.body_limit
            and _bearer(headers) is not None
        )


def _is_orders(scope: Scope) -> bool:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return (path[len(root) :] if root and path.startswith(root) else path) == ORDERS_PATH


def _watched_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The headers the lane reads, or None when one of them appears more than once."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WATCHED:  # ASGI servers send header names lower-cased
            if name in found:
                return None
            found[name] = value
    return found


def _bearer(headers: dict[bytes, bytes]) -> str | None:
    """``web.deps.bearer_token`` on the raw header."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _read_body(receive: Receive, received: list[Message], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            raise _NotForTheLane  # the client went away: the full stack sees it so
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _NotForTheLane  # BodySizeLimit refuses it there
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """``receive`` as if nothing had been read from it yet."""
    pending = list(received)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _place(
    scope: Scope, headers: dict[bytes, bytes], body: bytes
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The route's answer to a new order: its headers and body; or _NotForTheLane."""
    app: Any = scope["app"]
    database: Database = app.state.database
    token = _bearer(headers)
    assert token is not None  # OrderLane._takes checked it
    principal: Principal | None = await database.hot.principal(token)
    if principal is None:
        raise _NotForTheLane  # an agent's token, or none known: the route's 401/403
    try:
        order = _ORDER_BODY.validate_python(json.loads(body), from_attributes=True)
    except (ValueError, ValidationError) as error:  # JSONDecodeError is a ValueError
        raise _NotForTheLane from error
    key = headers.get(b"idempotency-key")
    try:
        placed = await database.hot.place_order(
            principal,
            [OrderLine(r.content_id, r.media, r.copies) for r in order.requests],
            order.ship_to.to_domain(),
            idempotency_key=None if key is None else key.decode("latin-1"),
            source="api",
            priority=order.priority,
            quota=OrderQuota.from_settings(app.state.settings),
        )
    except DiscflowError as error:  # refused before anything was written
        raise _NotForTheLane from error
    if placed is None:
        raise _NotForTheLane  # the key was taken: the route replays or refuses
    public = placed_order_public(placed).model_dump_json().encode()
    answer = [
        (b"location", f"{ORDERS_PATH}/{placed.id}".encode()),
        (b"content-length", str(len(public)).encode()),
        (b"content-type", JSON.encode()),
    ]
    return answer, public

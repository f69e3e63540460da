"""``POST /api/v1/orders`` has a lane before FastAPI's routing (``web._order_lane``): it
answers a new order itself and hands every other call, body and all, to the full stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from discflow.store import Database
from discflow.web._order_lane import OrderLane
from tests.utils.factories import make_content, make_token
from tests.web.conftest import bearer
from tests.web.test_metrics import _samples, _value

SHIP_TO = {"name": "Ada", "lines": ["1 Main St"], "city": "X", "postal_code": "1", "country": "US"}


class _Passed:
    """Wraps the stack below the lane and counts the calls that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@pytest.fixture
def passed(client: TestClient) -> Iterator[_Passed]:
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, OrderLane):
        layer = layer.app
    spy = _Passed(layer.app)
    layer.app = spy
    yield spy
    layer.app = spy.app


def _order(content: str, copies: int = 1) -> dict[str, Any]:
    return {
        "requests": [{"content_id": content, "media": "CD-R", "copies": copies}],
        "ship_to": SHIP_TO,
    }


def test_a_new_order_is_answered_by_the_lane_as_the_route_would(
    client: TestClient, database: Database, passed: _Passed
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    placed = client.post(
        "/api/v1/orders",
        json=_order(content, 2),
        headers={**bearer(token), "Idempotency-Key": "k1"},
    )
    assert placed.status_code == 201
    assert passed.calls == []  # the lane answered
    assert placed.headers["content-type"] == "application/json"
    assert placed.headers["location"] == f"/api/v1/orders/{placed.json()['id']}"
    assert placed.headers["x-content-type-options"] == "nosniff"  # the edge layer's, as before
    # the route reads back what the lane answered, request for request
    stored = client.get(placed.headers["location"], headers=bearer(token))
    assert stored.status_code == 200
    assert stored.json() == placed.json()
    # a retry is the route's: the lane read the body, and the route got it whole
    again = client.post(
        "/api/v1/orders",
        json=_order(content, 2),
        headers={**bearer(token), "Idempotency-Key": "k1"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == placed.json()["id"]
    assert passed.calls == [f"GET {placed.headers['location']}", "POST /api/v1/orders"]
    different = client.post(
        "/api/v1/orders",
        json=_order(content, 3),
        headers={**bearer(token), "Idempotency-Key": "k1"},
    )
    assert different.status_code == 422  # the key names another order (the route says so)
    assert "already used for a different order" in different.json()["detail"]


@pytest.mark.parametrize(
    "case",
    ["no token", "unknown token", "bad json", "invalid body", "no such content", "text/plain"],
)
def test_every_other_call_goes_to_the_full_stack_with_its_body(
    client: TestClient, database: Database, passed: _Passed, case: str
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    headers = bearer(token)
    body = json.dumps(_order(content)).encode()
    expected = {"no token": 401, "unknown token": 401, "bad json": 422, "invalid body": 422}
    if case == "no token":
        headers = {}
    elif case == "unknown token":
        headers = bearer("nope")
    elif case == "bad json":
        body = body[:-3]
    elif case == "invalid body":
        body = json.dumps({**_order(content), "ship_to": {**SHIP_TO, "country": "USA"}}).encode()
    elif case == "no such content":
        body = json.dumps(_order("CNT-missing")).encode()
        expected[case] = 404
    else:
        expected[case] = 422  # FastAPI does not read a text/plain body as JSON
    kind = "text/plain" if case == "text/plain" else "application/json"
    answer = client.post("/api/v1/orders", content=body, headers={**headers, "Content-Type": kind})
    assert answer.status_code == expected[case]
    assert answer.json()["detail"]
    assert passed.calls == ["POST /api/v1/orders"]


def test_lane_orders_are_counted_under_their_route(
    client: TestClient, database: Database, passed: _Passed
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    before = _samples(client, database)
    for _ in range(3):
        assert (
            client.post("/api/v1/orders", json=_order(content), headers=bearer(token)).status_code
            == 201
        )
    after = _samples(client, database)
    assert passed.calls == ["GET /metrics", "GET /metrics"]
    labels = {"method": "POST", "route": "/api/v1/orders", "status": "201"}
    name = "discflow_http_requests_total"
    assert _value(after, name, **labels) - _value(before, name, **labels) == 3

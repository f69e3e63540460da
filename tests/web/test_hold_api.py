"""Holding and releasing an order (CUPS's hold: a held job is not scheduled until
released). Only what is not planned yet can be held; a held order can be cancelled."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from discflow.store import Database, Role
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer

CD = 600_000_000


def _order(client: TestClient, database: Database, token: str) -> Any:
    content = make_content(database, "Alpha", CD)
    lines = [{"content_id": content, "media": "CD-R", "copies": 2}] * 2
    response = client.post(
        "/api/v1/orders", json={"requests": lines, "ship_to": address()}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_hold_then_release_puts_the_order_back_in_the_queue(
    client: TestClient, database: Database
) -> None:
    alice = make_token(database, "alice")
    order = _order(client, database, alice)
    url = f"/api/v1/orders/{order['id']}"
    held = client.post(f"{url}/hold", json={"reason": "awaiting payment"}, headers=bearer(alice))
    assert held.status_code == 200, held.text
    assert held.json()["state"] == "held"
    assert [r["state"] for r in held.json()["requests"]] == ["held", "held"]
    again = client.post(f"{url}/hold", headers=bearer(alice))
    assert again.status_code == 409 and "only queued requests can be held" in again.text

    released = client.post(f"{url}/release", headers=bearer(alice))
    assert released.status_code == 200 and released.json()["state"] == "queued"
    assert client.post(f"{url}/release", headers=bearer(alice)).status_code == 409
    events = client.get(f"/api/v1/events?order_id={order['id']}", headers=bearer(alice)).json()
    types = [e["type"] for e in events]
    assert types.count("request.held") == 2 and types.count("order.held") == 1
    assert types[-1] == "order.released" and types.count("request.queued") == 4
    held_event = next(e for e in events if e["type"] == "order.held")
    assert held_event["message"] == "held by alice: awaiting payment"


def test_a_held_order_can_be_cancelled(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    order = _order(client, database, alice)
    url = f"/api/v1/orders/{order['id']}"
    assert client.post(f"{url}/hold", headers=bearer(alice)).status_code == 200
    cancelled = client.post(f"{url}/cancel", headers=bearer(alice))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"{url}/release", headers=bearer(alice)).status_code == 409


def test_only_the_owner_and_operators_hold_an_order(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    bob = make_token(database, "bob")
    olga = make_token(database, "olga", Role.OPERATOR)
    order = _order(client, database, alice)
    url = f"/api/v1/orders/{order['id']}"
    assert client.post(f"{url}/hold", headers=bearer(bob)).status_code == 404
    assert client.post(f"{url}/hold", headers=bearer(olga)).status_code == 200
    assert client.post(f"{url}/release", headers=bearer(bob)).status_code == 404
    assert client.post(f"{url}/release", headers=bearer(olga)).status_code == 200


def test_a_reason_that_is_not_one_line_is_refused(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    order = _order(client, database, alice)
    url = f"/api/v1/orders/{order['id']}/hold"
    bad = client.post(url, json={"reason": "pay\u2028first"}, headers=bearer(alice))
    assert bad.status_code == 422 and "U+2028" in bad.text
    long = client.post(url, json={"reason": "x" * 201}, headers=bearer(alice))
    assert long.status_code == 422
    extra = client.post(url, json={"reason": "ok", "until": "tomorrow"}, headers=bearer(alice))
    assert extra.status_code == 422
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bearer(alice)).json()["state"] == (
        "queued"
    )

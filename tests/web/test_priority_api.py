"""An order's ``priority`` applies to every request of it and is stored and shown."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from discflow.store import Database, Request
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer

CD = 600_000_000


def _lines(content_id: str) -> list[dict[str, object]]:
    return [
        {"content_id": content_id, "media": "CD-R", "copies": 1},
        {"content_id": content_id, "media": "CD-R", "copies": 2},
    ]


def test_rush_order_marks_every_request(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", CD)
    response = client.post(
        "/api/v1/orders",
        json={"requests": _lines(content), "ship_to": address(), "priority": "rush"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["priority"] == "rush"
    assert [r["priority"] for r in order["requests"]] == ["rush", "rush"]
    with database.transaction() as session:
        stored = session.scalars(select(Request.priority).where(Request.order_id == order["id"]))
        assert list(stored) == ["rush", "rush"]
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(token)).json()
    assert shown["priority"] == "rush"
    assert [r["priority"] for r in shown["requests"]] == ["rush", "rush"]


def test_priority_defaults_to_normal(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", CD)
    response = client.post(
        "/api/v1/orders",
        json={"requests": _lines(content), "ship_to": address()},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["priority"] == "normal"
    assert {r["priority"] for r in response.json()["requests"]} == {"normal"}


def test_unknown_priority_is_refused_with_the_choices(
    client: TestClient, database: Database
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", CD)
    response = client.post(
        "/api/v1/orders",
        json={"requests": _lines(content), "ship_to": address(), "priority": "urgent"},
        headers=bearer(token),
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "priority" in detail and "'rush'" in detail
    with database.transaction() as session:
        assert session.scalars(select(Request.id)).first() is None


def test_same_key_with_another_priority_is_another_order(
    client: TestClient, database: Database
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", CD)
    body = {"requests": _lines(content), "ship_to": address()}
    key = {"Idempotency-Key": "k-prio"}
    first = client.post("/api/v1/orders", json=body, headers={**bearer(token), **key})
    assert first.status_code == 201
    rush = client.post(
        "/api/v1/orders", json={**body, "priority": "rush"}, headers={**bearer(token), **key}
    )
    assert rush.status_code == 422
    assert "already used for a different order" in rush.json()["detail"]

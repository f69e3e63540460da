from __future__ import annotations

from fastapi.testclient import TestClient

from discflow.store import Database, PrintJob, Role
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer

CD = 600_000_000
DVD = 4_000_000_000


def _order(client: TestClient, token: str, requests: list[dict[str, object]], **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/orders",
        json={"requests": requests, "ship_to": address()},
        headers={**bearer(token), **headers},
    )


def test_order_of_three_requests_is_logged(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    a = make_content(database, "Alpha", CD)
    b = make_content(database, "Beta", DVD)
    response = _order(
        client,
        token,
        [
            {"content_id": a, "media": "CD-R", "copies": 2},
            {"content_id": b, "media": "DVD-R", "copies": 1},
            {"content_id": a, "media": "DVD-R", "copies": 5},
        ],
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["state"] == "queued"
    assert [r["state"] for r in order["requests"]] == ["queued"] * 3
    assert [r["copies"] for r in order["requests"]] == [2, 1, 5]

    events = client.get(f"/api/v1/events?order_id={order['id']}", headers=bearer(token)).json()
    types = [e["type"] for e in events]
    assert types == ["order.received", "request.queued", "request.queued", "request.queued"]
    assert {e["request_id"] for e in events[1:]} == {r["id"] for r in order["requests"]}


def test_idempotency_key_returns_the_first_order(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    a = make_content(database, "Alpha", CD)
    line = [{"content_id": a, "media": "CD-R", "copies": 1}]
    first = _order(client, token, line, **{"Idempotency-Key": "k-1"})
    again = _order(client, token, line, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get("/api/v1/orders", headers=bearer(token)).json()) == 1
    other = _order(
        client,
        token,
        [{"content_id": a, "media": "CD-R", "copies": 2}],
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422
    assert "already used for a different order" in other.json()["detail"]


def test_bad_orders_say_what_was_wrong(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    big = make_content(database, "Big", 5_100_000_000)
    cd = make_content(database, "Small", CD)
    cases = [
        ([{"content_id": "cnt-NOPE", "media": "CD-R", "copies": 1}], 404, "no content with id"),
        (
            [{"content_id": big, "media": "DVD-R", "copies": 1}],
            422,
            f"content '{big}' is 5.1 GB; DVD-R holds 4.7 GB",
        ),
        ([{"content_id": cd, "media": "CD-R", "copies": 0}], 422, "copies"),
        ([{"content_id": cd, "media": "CD-R", "copies": 1001}], 422, "copies"),
        ([{"content_id": cd, "media": "Betamax", "copies": 1}], 422, "unknown media type"),
    ]
    for requests, status, words in cases:
        response = _order(client, token, requests)
        assert response.status_code == status, (requests, response.text)
        assert words in response.json()["detail"]
    bad_address = client.post(
        "/api/v1/orders",
        json={
            "requests": [{"content_id": cd, "media": "CD-R", "copies": 1}],
            "ship_to": address(country="Britain"),
        },
        headers=bearer(token),
    )
    assert bad_address.status_code == 422
    assert "country" in bad_address.json()["detail"]
    missing = client.post(
        "/api/v1/orders",
        json={"requests": [{"content_id": cd, "media": "CD-R", "copies": 1}]},
        headers=bearer(token),
    )
    assert missing.status_code == 422 and "ship_to" in missing.json()["detail"]
    # nothing half-written: no order exists after all those refusals
    assert client.get("/api/v1/orders", headers=bearer(token)).json() == []


def test_tokens_and_ownership(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    bob = make_token(database, "bob")
    operator = make_token(database, "olga", Role.OPERATOR)
    a = make_content(database, "Alpha", CD)
    order = _order(client, alice, [{"content_id": a, "media": "CD-R", "copies": 1}]).json()

    assert client.get("/api/v1/orders").status_code == 401
    wrong = client.get("/api/v1/orders", headers=bearer("dft_not-a-token"))
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]
    # another customer's order is answered like a made-up id: ids cannot be probed
    forbidden = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(bob))
    made_up = client.get("/api/v1/orders/ORD-00000000-XXXXXX", headers=bearer(bob))
    assert forbidden.status_code == made_up.status_code == 404
    assert forbidden.json()["detail"].startswith("no order with id")
    assert (
        client.get(f"/api/v1/events?order_id={order['id']}", headers=bearer(bob)).status_code == 404
    )
    assert (
        client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bearer(bob)).status_code == 404
    )
    assert client.get("/api/v1/orders", headers=bearer(bob)).json() == []
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bearer(operator)).status_code == 200


def test_cancel_moves_requests_to_cancelled(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    a = make_content(database, "Alpha", CD)
    order = _order(client, alice, [{"content_id": a, "media": "CD-R", "copies": 1}]).json()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bearer(alice))
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bearer(alice))
    assert again.status_code == 422 and "nothing to cancel" in again.json()["detail"]


def test_oversized_body_is_refused_before_parsing(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    blob = b'{"requests": [], "ship_to": {"name": "' + b"x" * 2_000_000 + b'"}}'
    response = client.post(
        "/api/v1/orders",
        content=blob,
        headers={**bearer(alice), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_operator_requeues_an_orders_labels(client: TestClient, database: Database) -> None:
    alice = make_token(database, "alice")
    operator = make_token(database, "olga", Role.OPERATOR)
    a = make_content(database, "Alpha", CD)
    order = _order(client, alice, [{"content_id": a, "media": "CD-R", "copies": 1}] * 2).json()
    url = f"/api/v1/orders/{order['id']}/labels"
    assert client.post(url, headers=bearer(alice)).status_code == 403
    queued = client.post(url, headers=bearer(operator))
    assert queued.status_code == 202 and queued.json()["queued"] == 2
    with database.transaction() as session:
        rows = session.query(PrintJob).filter_by(order_id=order["id"], state="pending").all()
        assert sorted(r.request_id for r in rows) == sorted(r["id"] for r in order["requests"])

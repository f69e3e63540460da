"""``/metrics`` shows HTTP traffic by route, orders placed and requests by state."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from discflow.store import Database, Role
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer


def _samples(
    client: TestClient, database: Database
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    # /metrics is not public by default (docs/security.md): the scraper has an operator token
    scraper = make_token(database, "scraper", Role.OPERATOR)
    response = client.get("/metrics", headers=bearer(scraper))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_orders_requests_and_http_latency(
    client: TestClient, database: Database
) -> None:
    token = make_token(database, "grace")
    content = make_content(database, "Field Recordings", 100_000_000)
    before = _samples(client, database)

    for copies in (1, 2):
        placed = client.post(
            "/api/v1/orders",
            headers=bearer(token),
            json={
                "requests": [
                    {"content_id": content, "media": "CD-R", "copies": copies},
                    {"content_id": content, "media": "DVD-R", "copies": 1},
                ],
                "ship_to": address(),
            },
        )
        assert placed.status_code == 201, placed.text
    refused = client.post("/api/v1/orders", headers=bearer("wrong"), json={})
    assert refused.status_code == 401
    order_id = placed.json()["id"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=bearer(token)).status_code == 200

    after = _samples(client, database)
    # business figures come from the database: exactly what was placed here
    assert _value(after, "discflow_orders_total", source="api") == 2
    assert _value(after, "discflow_requests", state="queued") == 4
    assert _value(after, "discflow_requests", state="done") == 0

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    orders_route = {"method": "POST", "route": "/api/v1/orders"}
    assert grew("discflow_http_requests_total", status="201", **orders_route) == 2
    assert grew("discflow_http_requests_total", status="401", **orders_route) == 1
    # the template, not the raw path with the order id in it
    assert (
        grew(
            "discflow_http_requests_total",
            method="GET",
            route="/api/v1/orders/{order_id}",
            status="200",
        )
        == 1
    )
    assert grew("discflow_http_request_duration_seconds_count", **orders_route) == 3
    assert grew("discflow_http_request_duration_seconds_bucket", le="+Inf", **orders_route) == 3
    assert grew("discflow_http_request_duration_seconds_sum", **orders_route) > 0


def test_unknown_paths_share_one_label(client: TestClient, database: Database) -> None:
    for path in ("/nope/1", "/nope/2", "/api/v1/nothing-here"):
        assert client.get(path).status_code == 404
    samples = _samples(client, database)
    routes = {dict(labels).get("route") for (name, labels) in samples if "http_requests" in name}
    assert "unmatched" in routes
    assert not any(route and route.startswith("/nope") for route in routes)

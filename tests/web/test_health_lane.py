"""``GET /api/v1/health`` is answered before the routing stack (``web.app.AnswerHealth``):
the same answer as its documented route, with the security headers, counted under its
route in the metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from discflow import __version__
from discflow.store import Database
from tests.web.test_metrics import _samples, _value


def test_health_is_answered_as_documented_with_the_edge_headers(client: TestClient) -> None:
    answer = client.get("/api/v1/health?probe=1")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "version": __version__}
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "content-security-policy" not in answer.headers
    # what the lane does not take goes on to the routes, as before
    assert client.head("/api/v1/health").status_code == 405
    assert client.post("/api/v1/health").status_code == 405
    assert client.get("/api/v1/healthz").status_code == 404
    schema = client.get("/openapi.json").json()
    assert "get" in schema["paths"]["/api/v1/health"]


def test_health_calls_are_counted_under_their_route(client: TestClient, database: Database) -> None:
    before = _samples(client, database)
    for _ in range(3):
        assert client.get("/api/v1/health").status_code == 200
    after = _samples(client, database)
    labels = {"method": "GET", "route": "/api/v1/health", "status": "200"}
    name = "discflow_http_requests_total"
    assert _value(after, name, **labels) - _value(before, name, **labels) == 3
    latency = "discflow_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/api/v1/health"}
    assert _value(after, latency, **route) - _value(before, latency, **route) == 3

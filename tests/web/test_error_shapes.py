"""The spec says what the server sends (found by schemathesis, tests/security):
every 4xx is ``{"detail": "..."}``, validation errors too, and numbers too large
for the database are refused, not a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from discflow.store import Database, Role
from tests.utils.factories import make_token
from tests.web.conftest import bearer


def test_validation_errors_are_documented_as_one_sentence(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    error = spec["components"]["schemas"]["HTTPValidationError"]
    assert error["properties"]["detail"]["type"] == "string"


def test_huge_offsets_and_ids_are_refused_not_crashed(
    client: TestClient, database: Database
) -> None:
    token = bearer(make_token(database, "otto", Role.OPERATOR))
    for url in (
        "/api/v1/orders?offset=9223372036854775808",
        "/api/v1/contents?offset=9223372036854775808",
        "/api/v1/events?after_id=9223372036854775808",
    ):
        response = client.get(url, headers=token)
        assert response.status_code == 422, (url, response.text)
        assert isinstance(response.json()["detail"], str)
    ack = client.post("/api/v1/notices/9223372036854775808/acknowledge", headers=token)
    assert ack.status_code == 422

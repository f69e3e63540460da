"""A catalog entry whose image bytes are not in the archive answers 404 with a
way out, not a 500 (found by the authorization matrix in tests/security)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from discflow.store import Database, Role
from tests.utils.factories import make_content, make_token
from tests.web.conftest import bearer


def test_image_of_a_content_without_bytes_is_404(client: TestClient, database: Database) -> None:
    token = make_token(database, "otto", Role.OPERATOR)
    content = make_content(database, "Alpha", 600_000_000)
    response = client.get(f"/api/v1/contents/{content}/image", headers=bearer(token))
    assert response.status_code == 404, response.text
    assert "not in the archive" in response.json()["detail"]

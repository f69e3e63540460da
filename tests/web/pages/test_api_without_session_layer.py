"""The pages' session middleware does not run for ``/api/`` calls; ``web.deps`` authenticates
them, the cookie-carrying ones included (issue #17 item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from discflow.store import Database, Role
from tests.utils.factories import address, make_content, make_token
from tests.web.pages.conftest import make_user, sign_in


@contextmanager
def session_lookups(database: Database) -> Iterator[list[str]]:
    """Every statement that reads the browser-session table while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "web_sessions" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def test_an_api_call_with_a_cookie_is_not_looked_up_by_the_session_layer(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    sign_in(client, "cara")  # the client now sends a valid session cookie with every call
    token = make_token(database, "cara")
    with session_lookups(database) as lookups:
        assert client.get("/api/v1/health").status_code == 200
        answer = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    assert lookups == []  # the middleware would have read the cookie's row for health
    with session_lookups(database) as lookups:
        assert client.get("/catalog", follow_redirects=False).status_code == 200
    assert lookups, "a page still resumes its session from the cookie"


def test_cookie_calls_to_the_api_keep_their_csrf_rule(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    content = make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "cara")
    body: dict[str, Any] = {"requests": [{"content_id": content, "media": "CD-R", "copies": 1}]}
    body["ship_to"] = address()
    assert client.get(f"/api/v1/contents/{content}").status_code == 200  # the hot route
    refused = client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": "not-it"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    placed = client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": csrf})
    assert placed.status_code == 201 and placed.json()["user"] == "cara"
    client.cookies.clear()
    assert client.get(f"/api/v1/contents/{content}").status_code == 401
    # a non-bearer Authorization header is judged alone too: the cookie is not a fallback
    sign_in(client, "cara")
    basic = client.get("/api/v1/orders", headers={"Authorization": "Basic Y2FyYTp4"})
    assert basic.status_code == 401


def test_operators_cookie_reaches_operator_routes(client: TestClient, database: Database) -> None:
    make_user(database, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    assert client.get("/api/v1/notices").status_code == 200

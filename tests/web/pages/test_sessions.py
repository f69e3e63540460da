"""Sign-in, session cookies, CSRF and the rate limit, through the app in process."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from discflow import store
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.store._tables import WebSession
from discflow.web import create_app
from discflow.web.pages import COOKIE
from tests.utils.factories import address, make_content, make_token
from tests.web.pages.conftest import PASSWORD, make_user, sign_in


def _signin_token(client: TestClient) -> str:
    found = re.search(r'name="signin_token" value="([^"]+)"', client.get("/signin").text)
    assert found is not None
    return found.group(1)


def _attempt(client: TestClient, name: str, password: str) -> int:
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "signin_token": _signin_token(client)},
        follow_redirects=False,
    )
    return answer.status_code


def test_sign_in_sets_a_hardened_cookie_and_stores_only_its_digest(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    answer = client.post(
        "/signin",
        data={"name": "cara", "password": PASSWORD, "signin_token": _signin_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    header = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    session_id = client.cookies[COOKIE]
    with database.transaction() as session:
        rows = list(session.scalars(select(WebSession)))
    assert len(rows) == 1
    assert rows[0].token_hash == store.hash_token(session_id) != session_id
    assert client.get("/", follow_redirects=False).headers["location"] == "/catalog"


def test_pages_send_strangers_to_sign_in_and_back(client: TestClient, database: Database) -> None:
    answer = client.get("/orders?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/orders%3Fx%3D1"
    make_user(database, "cara")
    page = client.get("/signin", params={"next": "/orders"})
    token = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert token is not None and 'name="next" value="/orders"' in page.text
    done = client.post(
        "/signin",
        data={
            "name": "cara",
            "password": PASSWORD,
            "signin_token": token.group(1),
            "next": "//evil",
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == "/"  # never off-site


def test_a_poll_after_sign_out_moves_the_whole_page_to_sign_in(client: TestClient) -> None:
    answer = client.get(
        "/floor/live",
        headers={"HX-Request": "true", "HX-Current-URL": "http://x/floor?a=1"},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/signin?next=/floor"


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    assert _attempt(client, "cara", "not the password") == 401
    assert _attempt(client, "nobody", "not the password") == 401
    assert COOKIE not in client.cookies


def test_sign_in_form_needs_its_own_token(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    answer = client.post("/signin", data={"name": "cara", "password": PASSWORD})
    assert answer.status_code == 403
    assert COOKIE not in client.cookies


def test_failed_attempts_are_limited_per_user_and_address(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    make_user(database, "carl")
    for _ in range(5):
        assert _attempt(client, "cara", "guess") == 401
    assert _attempt(client, "cara", PASSWORD) == 429  # even the right password waits
    refused = client.post(
        "/signin",
        data={"name": "cara", "password": PASSWORD, "signin_token": _signin_token(client)},
    )
    assert "Try again in 15 minute(s)" in refused.text
    assert _attempt(client, "carl", PASSWORD) == 303  # another user is not locked out


def test_cookie_is_secure_behind_https(app_settings: Settings, database: Database) -> None:
    make_user(database, "cara")
    with TestClient(
        create_app(app_settings, database=database), base_url="https://testserver"
    ) as client:
        token = _signin_token(client)
        answer = client.post(
            "/signin",
            data={"name": "cara", "password": PASSWORD, "signin_token": token},
            follow_redirects=False,
        )
    header = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "Secure" in header


def test_sign_out_ends_the_session_for_good(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    csrf = sign_in(client, "cara")
    old = client.cookies[COOKIE]
    assert client.post("/signout", data={}, follow_redirects=False).status_code == 403
    answer = client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    with database.transaction() as session:
        assert session.scalar(select(WebSession)) is None
    client.cookies.set(COOKIE, old)  # a copied cookie is worthless now
    assert client.get("/catalog", follow_redirects=False).status_code == 303


def test_expired_sessions_are_refused(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    sign_in(client, "cara")
    with database.transaction() as session:
        session.execute(update(WebSession).values(expires_at=store.utcnow() - timedelta(seconds=1)))
    assert client.get("/catalog", follow_redirects=False).status_code == 303
    with database.transaction() as session:
        assert session.scalar(select(WebSession)) is None


def test_api_and_pages_share_one_permission_model(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    make_user(database, "otto", Role.OPERATOR)
    content = make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "cara")
    body = {"requests": [{"content_id": content, "media": "CD-R", "copies": 1}]}
    body["ship_to"] = address()  # type: ignore[assignment]
    # the cookie reads the API as cara ...
    assert client.get("/api/v1/orders").status_code == 200
    assert client.get("/api/v1/notices").status_code == 403  # ... with cara's role
    # ... but changes nothing without the page's CSRF header
    assert client.post("/api/v1/orders", json=body).status_code == 403
    placed = client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": csrf})
    assert placed.status_code == 201 and placed.json()["user"] == "cara"
    # a bearer token is judged alone, whatever cookie rides along
    otto = make_token(database, "otto", Role.OPERATOR)
    as_otto = client.get("/api/v1/notices", headers={"Authorization": f"Bearer {otto}"})
    assert as_otto.status_code == 200


def test_every_page_form_carries_the_csrf_token(client: TestClient, database: Database) -> None:
    make_user(database, "ada", Role.ADMIN)
    make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "ada")
    for url in ("/orders/new", "/floor", "/floor/upload", "/admin"):
        page = client.get(url).text
        posts = re.findall(r'<form[^>]*method="post".*?</form>', page, flags=re.S)
        assert posts, url
        for form in posts:
            assert f'name="csrf_token" value="{csrf}"' in form, (url, form[:80])
        assert f'"X-CSRF-Token": "{csrf}"' in page

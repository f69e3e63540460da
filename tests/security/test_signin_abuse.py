"""Issue #19 items 6 and 7: password spray, lock-out escape by X-Forwarded-For, workers
that each had their own limiter, and the open redirect after sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from discflow.settings import Settings
from discflow.store import Database, Role, create_user
from discflow.web import create_app
from discflow.web.pages._auth import _safe_next

PASSWORD = "correct horse battery"
SPRAYED = "Winter2026!!"


def _users(database: Database, *names: str) -> None:
    with database.transaction() as session:
        for name in names:
            create_user(session, name, role=Role.CUSTOMER, password=PASSWORD)


def _attempt(
    client: TestClient, name: str, password: str, *, headers: dict[str, str] | None = None
) -> int:
    page = client.get("/signin", headers=headers)
    token = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "signin_token": token.group(1)},
        headers=headers,
        follow_redirects=False,
    )
    return answer.status_code


def _client(
    settings: Settings, database: Database, *, peer: str = "127.0.0.1", **update: object
) -> TestClient:
    changed = settings.model_copy(update={"run_dispatcher": False, **update})
    return TestClient(create_app(changed, database=database), client=(peer, 50000))


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with _client(settings, database) as test_client:
        yield test_client


def test_password_spray_from_one_client_is_slowed(client: TestClient, database: Database) -> None:
    """15 names x 1 password from one address: the per-client count stops it at 10."""
    names = [f"user{n}" for n in range(15)]
    _users(database, *names)
    answers = [_attempt(client, name, SPRAYED) for name in names]
    assert answers[:10] == [401] * 10
    assert answers[10:] == [429] * 5
    # even the right password is refused while the client is limited: no oracle
    assert _attempt(client, "user14", PASSWORD) == 429


def test_own_account_sign_in_does_not_reset_the_client_count(
    client: TestClient, database: Database
) -> None:
    _users(database, "mallory", *[f"victim{n}" for n in range(12)])
    for n in range(9):
        assert _attempt(client, f"victim{n}", SPRAYED) == 401
    assert _attempt(client, "mallory", PASSWORD) == 303  # the sprayer's own account
    assert _attempt(client, "victim9", SPRAYED) == 401  # the 10th failure
    assert _attempt(client, "victim10", SPRAYED) == 429


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(
    client: TestClient, database: Database
) -> None:
    """The attack of the issue: a new X-Forwarded-For per attempt. No proxy is configured,
    so the header is ignored; and the account count holds whatever the address."""
    _users(database, "cara")
    for n in range(5):
        spoof = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert _attempt(client, "cara", SPRAYED, headers=spoof) == 401
    for spoof in ("198.51.100.7", "::1", "127.0.0.1, 10.9.9.9"):
        assert _attempt(client, "cara", PASSWORD, headers={"X-Forwarded-For": spoof}) == 429


def test_a_locked_account_stays_locked_behind_a_trusted_proxy(
    settings: Settings, database: Database
) -> None:
    """Behind a real proxy every attempt may come from a new address: the account's own
    count still locks it (5 failures from 5 addresses)."""
    _users(database, "cara")
    with _client(settings, database, trusted_proxies="127.0.0.1") as client:
        for n in range(5):
            headers = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert _attempt(client, "cara", SPRAYED, headers=headers) == 401
        fresh = {"X-Forwarded-For": "198.51.100.99"}
        assert _attempt(client, "cara", PASSWORD, headers=fresh) == 429
        # the name's case and spaces around it are one account to the throttle
        assert _attempt(client, " CARA ", PASSWORD, headers=fresh) == 429


def test_the_throttle_holds_across_worker_processes(settings: Settings, database: Database) -> None:
    """Two app instances on one database stand for two --workers: failures made in
    one count in the other (the limiter used to be per process)."""
    _users(database, "cara")
    with _client(settings, database) as first, _client(settings, database) as second:
        for n in range(5):
            assert _attempt(first if n % 2 else second, "cara", SPRAYED) == 401
        assert _attempt(first, "cara", PASSWORD) == 429
        assert _attempt(second, "cara", PASSWORD) == 429


def test_a_right_password_clears_the_account_count(client: TestClient, database: Database) -> None:
    _users(database, "cara")
    for _ in range(4):
        assert _attempt(client, "cara", SPRAYED) == 401
    assert _attempt(client, "cara", PASSWORD) == 303
    for _ in range(4):  # four more: the earlier four no longer count
        assert _attempt(client, "cara", SPRAYED) == 401
    assert _attempt(client, "cara", PASSWORD) == 303


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "/x\\..\\..\\/evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "evil.example",
        "/\x00/evil.example",
        "/\x7f/evil.example",
        "/\u3000/evil.example",  # ideographic space
        "/\uff0f/evil.example",  # fullwidth solidus
        "/\u2215evil.example",  # division slash
        " //evil.example",
        "\t//evil.example",
        "/" + "a" * 3000,
        "",
    ],
)
def test_next_refuses_anything_but_a_same_site_path(target: str) -> None:
    assert _safe_next(target) == "/"


@pytest.mark.parametrize(
    "target", ["/orders", "/orders/ORD-1?x=1", "/catalog?q=M%C3%BCller", "/%2F%2Fevil.example"]
)
def test_next_keeps_a_path_on_this_site(target: str) -> None:
    # "/%2F%2F..." is a path on this site: browsers do not decode %2F into a slash
    assert _safe_next(target) == target


def test_the_redirect_after_sign_in_stays_on_the_site(
    client: TestClient, database: Database
) -> None:
    _users(database, "cara")
    page = client.get("/signin", params={"next": "/\t/evil.example"})
    assert "evil.example" not in page.text
    token = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/signin",
        data={
            "name": "cara",
            "password": PASSWORD,
            "signin_token": token.group(1),
            "next": "/\t/evil.example",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_a_spray_from_one_ipv6_64_counts_as_one_client(
    settings: Settings, database: Database
) -> None:
    """A host holds a whole /64: a new address per attempt must not reset its count."""
    names = [f"user{n}" for n in range(11)]
    _users(database, *names)
    with _client(settings, database, trusted_proxies="127.0.0.1") as client:
        answers = [
            _attempt(client, name, SPRAYED, headers={"X-Forwarded-For": f"2001:db8:1:2::{n + 1:x}"})
            for n, name in enumerate(names)
        ]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429

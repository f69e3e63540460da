"""In-process page tests: the app over TestClient, users with passwords, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from discflow.settings import Settings
from discflow.store import Database, Role, create_user
from discflow.web import create_app

PASSWORD = "correct horse battery"


def make_user(database: Database, name: str, role: Role = Role.CUSTOMER) -> None:
    with database.transaction() as session:
        create_user(session, name, role=role, password=PASSWORD)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the form; returns the session's CSRF token."""
    page = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "signin_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/orders").text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_dispatcher": False})


@pytest.fixture
def client(app_settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, database=database)) as test_client:
        yield test_client


@pytest.fixture
def other_client(app_settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, database=database)) as test_client:
        yield test_client

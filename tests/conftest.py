"""Fixtures shared by the whole suite: a fresh database and data folder per test.

``DISCFLOW_TEST_DATABASE_URL`` points the suite at PostgreSQL instead of a
temporary SQLite file; each test then gets an empty ``public`` schema.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from discflow.settings import Settings
from discflow.store import Database
from tests.utils.databases import private_postgres

TEST_DATABASE_URL = os.environ.get("DISCFLOW_TEST_DATABASE_URL", "")
# one server key for the whole run, inherited by every process a test starts: the test
# process seals agent tokens that a server or dispatcher in another data folder must open
os.environ.setdefault("DISCFLOW_SECRET_KEY", secrets.token_hex(32))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server, so runs never collide."""
    with private_postgres(TEST_DATABASE_URL, prefix="discflow_test") as url:
        yield url


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'discflow.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    reset = Database(url)
    with reset.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    reset.dispose()
    yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DISCFLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DISCFLOW_DATABASE_URL", database_url)
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.resolved_database_url())
    db.migrate()
    yield db
    db.dispose()

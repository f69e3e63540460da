"""Issue #19 item 4b: agent and mail tokens are not in the database in clear.

A leaked database (every row of every table, or the SQLite file itself) must
give neither an agent's token (fake heartbeats, any image) nor a mail token
(mail commands); the dispatcher still presents the agent's token, opened with
the server key; tokens made before the change keep working after migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from discflow import store
from discflow.cli import _register
from discflow.cli import app as cli
from discflow.mail import rotate_mail_token
from discflow.mail._senders import token_matches
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.store._db import alembic_config
from discflow.web import create_app
from tests.utils.factories import make_token
from tests.web.conftest import bearer


def _every_text_in(database: Database) -> str:
    """All the database holds, as text: what an attacker with a dump reads."""
    found = []
    with database.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found += [str(value) for value in row]
    return "\n".join(found)


def _raw_file(database: Database, database_url: str) -> bytes:
    if not database_url.startswith("sqlite:///"):
        return b""
    database.dispose()  # the WAL into the file
    return Path(database_url.removeprefix("sqlite:///")).read_bytes()


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    ) as test_client:
        yield test_client


def test_enrolled_and_rotated_agent_tokens_are_not_in_the_database(
    client: TestClient, database: Database, database_url: str
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    body = {"name": "pub-1", "driver": "image", "address": "http://127.0.0.1:8101"}
    code = client.post("/api/v1/devices", json=body, headers=bearer(operator)).json()["enrol_code"]
    enrolled = client.post("/api/v1/agents/enrol", json={"code": code, "name": "pub-1"})
    token = enrolled.json()["token"]
    _register()
    rotated = CliRunner().invoke(cli, ["device", "rotate-token", "pub-1"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.strip().splitlines()[-1]
    with database.transaction() as session:
        assert store.device_for_agent_token(session, token) is None
        found = store.device_for_agent_token(session, new)
        assert found is not None and found.name == "pub-1"
        # the dispatcher's view: the token in clear, opened with the server key
        assert found.agent_token == new
    dump = _every_text_in(database)
    assert token not in dump and new not in dump
    raw = _raw_file(database, database_url)
    assert new.encode() not in raw and token.encode() not in raw


def test_mail_tokens_are_stored_as_digests_and_still_match(
    database: Database, database_url: str
) -> None:
    with database.transaction() as session:
        user = store.ensure_user(session, "alice", role=Role.CUSTOMER, email="a@example.org")
        token = rotate_mail_token(session, user, actor="test")
    assert token not in _every_text_in(database)
    with database.transaction() as session:
        user = store.ensure_user(session, "alice", role=Role.CUSTOMER)
        assert token_matches(user, token)
        assert token_matches(user, token.upper())  # mail systems fold local parts
        assert token_matches(user, f"  {token}\n")
        assert not token_matches(user, token[:-1] + ("0" if token[-1] != "0" else "1"))
        assert not token_matches(user, user.mail_token_hash)  # the digest is no token
        assert not token_matches(user, "ｔｏｋｅｎ")  # non-ASCII: no error, no match
    assert token.encode() not in _raw_file(database, database_url)


def test_a_sealed_token_under_another_key_says_how_to_recover(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://127.0.0.1:8101",
            actor="test",
            agent_token="dfa_sealed_under_key_one",
        )
    monkeypatch.setenv("DISCFLOW_SECRET_KEY", "a-different-key")
    with database.transaction() as session:
        device = store.get_device(session, "pub-1")
        # the lookup by digest needs no key: the agent can still be recognised
        assert store.device_for_agent_token(session, "dfa_sealed_under_key_one") is device
        with pytest.raises(store.SealBroken, match="discflow device rotate-token"):
            _ = device.agent_token


def test_the_key_file_is_made_private_when_no_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    monkeypatch.delenv("DISCFLOW_SECRET_KEY")
    monkeypatch.setenv("DISCFLOW_DATA_DIR", str(tmp_path / "fresh"))
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-9",
            driver="image",
            address="http://127.0.0.1:8109",
            actor="test",
            agent_token="dfa_key_file_token",
        )
    key = tmp_path / "fresh" / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    with database.transaction() as session:
        assert store.get_device(session, "pub-9").agent_token == "dfa_key_file_token"


def test_migration_0009_converts_clear_tokens_and_they_keep_working(
    database_url: str, settings: Settings
) -> None:
    """A database of the previous release with an enrolled agent and a mail token."""
    engine = store.make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(
            text(
                "INSERT INTO devices (name, driver, address, agent_token, availability, paused,"
                ' drives, cache_capacity_bytes, cache_free_bytes, "link_Bps", status, created_at)'
                " VALUES ('old-1', 'image', 'http://127.0.0.1:8101', 'dfa_clear_before_0009',"
                " 'offline', false, '[]', 0, 0, 1, '{}', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (name, email, role, mail_token, created_at) VALUES"
                " ('olduser', 'o@example.org', 'customer', 'abcdef0123456789abcdef01',"
                " CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    database = Database(database_url)
    database.migrate()
    try:
        dump = _every_text_in(database)
        assert "dfa_clear_before_0009" not in dump
        assert "abcdef0123456789abcdef01" not in dump
        with database.transaction() as session:
            device = store.device_for_agent_token(session, "dfa_clear_before_0009")
            assert device is not None and device.agent_token == "dfa_clear_before_0009"
            user = store.ensure_user(session, "olduser", role=Role.CUSTOMER)
            assert token_matches(user, "ABCDEF0123456789abcdef01")
    finally:
        database.dispose()


def _device_with_token(database: Database, token: str) -> None:
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://127.0.0.1:8101",
            actor="test",
            agent_token=token,
        )


def test_rotating_the_key_file_reseals_agent_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    monkeypatch.delenv("DISCFLOW_SECRET_KEY")
    monkeypatch.setenv("DISCFLOW_DATA_DIR", str(tmp_path / "keyed"))
    _device_with_token(database, "dfa_survives_key_rotation")
    key_file = tmp_path / "keyed" / "secret.key"
    before = key_file.read_text()
    with database.transaction() as session:
        sealed_before = store.get_device(session, "pub-1").agent_token_sealed
    _register()
    rotated = CliRunner().invoke(cli, ["token", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    assert key_file.read_text() != before and key_file.stat().st_mode & 0o777 == 0o600
    with database.transaction() as session:
        device = store.get_device(session, "pub-1")
        assert device.agent_token_sealed != sealed_before
        assert device.agent_token == "dfa_survives_key_rotation"


def test_rotating_an_environment_key_prints_the_new_one(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    _device_with_token(database, "dfa_env_key_rotation")
    _register()
    rotated = CliRunner().invoke(cli, ["token", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.output.strip().splitlines()[-1]
    with database.transaction() as session:
        with pytest.raises(store.SealBroken):
            _ = store.get_device(session, "pub-1").agent_token  # the old key no longer opens
    monkeypatch.setenv("DISCFLOW_SECRET_KEY", new_key)
    with database.transaction() as session:
        assert store.get_device(session, "pub-1").agent_token == "dfa_env_key_rotation"

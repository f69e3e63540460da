"""``discflow user mail-token`` and ``discflow mail test`` through the Typer app."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from discflow import store
from discflow.cli import _register, app
from discflow.errors import ConfigError, NotFound
from discflow.mail import RelayError
from discflow.settings import Settings
from discflow.store import Database
from tests.mail.conftest import Relay
from tests.utils.factories import make_token

_register()
runner = CliRunner()


def test_mail_token_is_created_rotated_and_printed_last(
    settings: Settings, database: Database
) -> None:
    make_token(database, "alice")
    first = runner.invoke(
        app, ["user", "mail-token", "--user", "alice", "--email", "Alice@Example.org"]
    )
    assert first.exit_code == 0, first.output
    token = first.output.strip().splitlines()[-1]
    second = runner.invoke(app, ["user", "mail-token", "--user", "alice"])
    rotated = second.output.strip().splitlines()[-1]
    assert len(token) == 24 and token != rotated
    with database.transaction() as session:
        user = session.scalar(select(store.User).where(store.User.name == "alice"))
        assert user is not None and user.email == "alice@example.org"
        # the rotated token replaced the first; only its digest is stored
        assert user.mail_token_hash == store.hash_token(rotated)
        assert token not in str(user.mail_token_hash) and rotated != user.mail_token_hash
    missing = runner.invoke(app, ["user", "mail-token", "--user", "nobody"])
    assert isinstance(missing.exception, NotFound)
    assert "discflow token create" in str(missing.exception)


def test_mail_test_goes_through_the_configured_relay(
    settings: Settings, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(
        runner.invoke(app, ["mail", "test", "--to", "ops@example.org"]).exception, ConfigError
    )
    monkeypatch.setenv("DISCFLOW_SMTP_RELAY_HOST", "127.0.0.1")
    monkeypatch.setenv("DISCFLOW_SMTP_RELAY_PORT", str(relay.port))
    monkeypatch.setenv("DISCFLOW_MAIL_FROM", "discflow@discs.example.org")
    sent = runner.invoke(app, ["mail", "test", "--to", "ops@example.org"])
    assert sent.exit_code == 0, sent.output
    assert f"through 127.0.0.1:{relay.port}" in sent.output
    [mail] = relay.wait_for(1, to="ops@example.org")
    assert mail["Subject"] == "discflow test mail"
    assert mail["From"] == "discflow@discs.example.org"
    relay.stop()
    down = runner.invoke(app, ["mail", "test", "--to", "ops@example.org"])
    assert isinstance(down.exception, RelayError)
    assert "did not take the mail" in str(down.exception)

"""``discflow device rotate-token``: the old agent token stops working, the new one works."""

from __future__ import annotations

from typer.testing import CliRunner

from discflow import store
from discflow.cli import _register, app
from discflow.errors import NotFound
from discflow.store import Database, EventFilter


def test_rotate_token_replaces_the_agent_token(database: Database) -> None:
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://127.0.0.1:8101",
            actor="test",
            agent_token="dfa_old",
        )
    _register()
    result = CliRunner().invoke(app, ["device", "rotate-token", "pub-1"])
    assert result.exit_code == 0, result.output
    new = result.stdout.strip().splitlines()[-1]
    assert new.startswith("dfa_") and len(new) > 40

    with database.transaction() as session:
        assert store.device_for_agent_token(session, "dfa_old") is None
        device = store.device_for_agent_token(session, new)
        assert device is not None and device.name == "pub-1"
        events = store.list_events(session, EventFilter(device="pub-1"))
        assert [e.type for e in events][-1] == "device.token-rotated"
        assert new not in events[-1].message  # the log never holds the secret


def test_rotate_token_of_unknown_device_names_it(database: Database) -> None:
    _register()
    result = CliRunner().invoke(app, ["device", "rotate-token", "nope"])
    assert isinstance(result.exception, NotFound)
    assert "nope" in str(result.exception)

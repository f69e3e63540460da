"""``discflow serve --smtp-port`` as a separate process: mail in, reply out through the relay."""

from __future__ import annotations

from pathlib import Path

from discflow.settings import Settings
from discflow.store import Database
from tests.mail.conftest import DOMAIN, Relay, compose, make_account, send
from tests.utils.processes import free_port, started


def test_serve_takes_mail_commands_and_replies_through_the_relay(
    settings: Settings, database: Database, relay: Relay, tmp_path: Path
) -> None:
    alice = make_account(database, "alice")
    port, smtp_port = free_port(), free_port()
    env = {
        "DISCFLOW_DATA_DIR": str(settings.data_dir),
        "DISCFLOW_DATABASE_URL": settings.resolved_database_url(),
        "DISCFLOW_RUN_DISPATCHER": "false",
        "DISCFLOW_MAIL_DOMAIN": DOMAIN,
        "DISCFLOW_SMTP_RELAY_HOST": "127.0.0.1",
        "DISCFLOW_SMTP_RELAY_PORT": str(relay.port),
        "DISCFLOW_MAIL_POLL_S": "0.2",
    }
    with started(
        ["serve", "--port", str(port), "--smtp-port", str(smtp_port)],
        env,
        ready_url=f"http://127.0.0.1:{port}/api/v1/health",
        log=tmp_path / "serve.log",
    ):
        send(
            settings.model_copy(update={"smtp_port": smtp_port}),
            compose(alice.email, "HELP", to=f"alice+{alice.mail_token}@{DOMAIN}"),
        )
        [reply] = relay.wait_for(1, to=alice.email, timeout=20)
    assert reply["From"] == f"discflow@{DOMAIN}"
    assert "ORDER <content id or exact title> <media> x<copies>" in reply.get_content()

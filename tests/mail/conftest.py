"""Real SMTP on loopback: discflow's inbound server inside the app, and a catching relay.

The relay is an aiosmtpd ``Controller`` that keeps every message it is given;
it can be stopped and started again on the same port to play a relay outage.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from discflow import store
from discflow.mail import rotate_mail_token
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.processes import free_port

DOMAIN = "discs.example.org"


class _Catcher:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@dataclass
class Relay:
    """A catching SMTP relay on a fixed loopback port."""

    port: int
    catcher: _Catcher = field(default_factory=_Catcher)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.catcher.messages

    def wait_for(
        self,
        count: int = 1,
        *,
        to: str | None = None,
        timeout: float = 10.0,
    ) -> list[EmailMessage]:
        """The messages (to ``to``) once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if to is None or to in str(m["To"])]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, (
                    f"expected {count} mail(s) to {to}, got {[str(m['Subject']) for m in found]}"
                )
                return found
            time.sleep(0.05)


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay(port=free_port())
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture
def mail_settings(settings: Settings, relay: Relay) -> Settings:
    return settings.model_copy(
        update={
            "run_dispatcher": False,
            "smtp_port": free_port(),
            "mail_domain": DOMAIN,
            "mail_from": f"discflow@{DOMAIN}",
            "smtp_relay_host": "127.0.0.1",
            "smtp_relay_port": relay.port,
            "mail_poll_s": 0.1,
            "mail_retry_base_s": 0.2,
            "mail_retry_max_s": 1.0,
            "mail_max_bytes": 20_000,
            "mail_per_hour": 8,
        }
    )


@pytest.fixture
def server(mail_settings: Settings, database: Database) -> Iterator[TestClient]:
    """The whole app (API and its mail services) on loopback; mail on ``smtp_port``."""
    with TestClient(create_app(mail_settings, database=database)) as client:
        yield client


@dataclass(frozen=True)
class Account:
    name: str
    email: str
    mail_token: str


def make_account(database: Database, name: str, role: Role = Role.CUSTOMER) -> Account:
    email = f"{name}@customer.example"
    with database.transaction() as session:
        user = store.ensure_user(session, name, role=role, email=email)
        token = rotate_mail_token(session, user, actor="test")
    return Account(name, email, token)


def compose(
    sender: str,
    body: str,
    *,
    subject: str = "discflow",
    to: str = f"orders@{DOMAIN}",
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    message.set_content(body)
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver over real SMTP; raises smtplib's errors for refusals at the protocol level."""
    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=30) as client:
        client.send_message(message)

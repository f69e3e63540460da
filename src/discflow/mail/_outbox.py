"""The outbox: every outbound mail is a row first, and leaves it only by being sent.

Invariants:
- ``enqueue`` only adds a row to the caller's session, so a reply or a
  notification is durable exactly when the change it reports is.
- A row is marked sent only after the relay accepted it; a failed attempt
  pushes ``next_attempt_at`` back exponentially (base * 2^attempts, capped),
  so a relay that is down for hours gets a handful of tries, and nothing is lost.
- The sender holds no state between passes but the wake-up event: a restart
  resumes from the table.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.coordinator import Coordinator
from discflow.errors import MailError
from discflow.store import Database, MailOutbox, utcnow

log = logging.getLogger(__name__)

_SUBJECT_MAX = 300


class RelayError(MailError):
    """The relay refused the mail or could not be reached."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Where outbound mail goes: an SMTP relay, with optional STARTTLS and login."""

    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    ca_file: str = ""
    timeout_s: float = 20.0


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    sender: str  # the From address
    domain: str  # for Message-IDs
    retry_base_s: float = 5.0
    retry_max_s: float = 900.0
    batch: int = 20


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    in_reply_to: str | None = None,
) -> MailOutbox:
    """Queue one mail; it is sent after the caller's transaction commits."""
    clean_subject = " ".join(subject.split())  # no header injection through new lines
    row = MailOutbox(
        to_addr=to,
        subject=clean_subject[:_SUBJECT_MAX],
        body=body,
        in_reply_to=in_reply_to[:300] if in_reply_to else None,
        kind=kind,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row


def build_message(row: MailOutbox, policy: OutboxPolicy) -> EmailMessage:
    message = EmailMessage()
    message["From"] = policy.sender
    message["To"] = row.to_addr
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    # the same id on every retry, so a receiver can drop a duplicate delivery
    message["Message-ID"] = f"<outbox-{row.id}.{int(row.created_at.timestamp())}@{policy.domain}>"
    if row.in_reply_to:
        message["In-Reply-To"] = row.in_reply_to
        message["References"] = row.in_reply_to
    # RFC 3834: marks machine mail so auto-responders (ours included) do not answer it
    message["Auto-Submitted"] = "auto-replied" if row.kind == "reply" else "auto-generated"
    message["X-Discflow-Kind"] = row.kind
    message.set_content(row.body)
    return message


def _tls_context(relay: RelayConfig) -> ssl.SSLContext | None:
    if not relay.ca_file:
        return None
    return ssl.create_default_context(cafile=relay.ca_file)


async def send_message(relay: RelayConfig, message: EmailMessage) -> None:
    """Hand one message to the relay; every failure becomes ``RelayError``."""
    try:
        await aiosmtplib.send(
            message,
            hostname=relay.host,
            port=relay.port,
            username=relay.username or None,
            password=relay.password or None,
            start_tls=relay.starttls,
            tls_context=_tls_context(relay),
            timeout=relay.timeout_s,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as error:
        raise RelayError(
            f"relay {relay.host}:{relay.port} did not take the mail: {error}; "
            "check DISCFLOW_SMTP_RELAY_* (host, port, user, password, starttls)"
        ) from error


def probe_message(*, sender: str, to: str) -> EmailMessage:
    """The mail ``discflow mail test`` sends."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "discflow test mail"
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "This is a test mail from discflow.\n\n"
        "If you read this, the relay settings (DISCFLOW_SMTP_RELAY_*) work.\n"
    )
    return message


def backoff_s(attempts: int, policy: OutboxPolicy) -> float:
    """Delay before the next try after ``attempts`` failed ones."""
    return float(min(policy.retry_max_s, policy.retry_base_s * 2 ** max(0, attempts - 1)))


class OutboxSender:
    """Sends due outbox rows through the relay, retrying with exponential backoff."""

    def __init__(
        self, database: Database, relay: RelayConfig, policy: OutboxPolicy, *, poll_s: float = 1.0
    ) -> None:
        self.database = database
        self.relay = relay
        self.policy = policy
        self.poll_s = poll_s
        # a failed pass (a database hiccup) is retried at the same pace: the row stays queued
        self._loop = Coordinator(
            "outbox", self.send_due, interval=poll_s, max_backoff=poll_s, logger=log
        )

    def wake(self) -> None:
        """Look at the outbox now (something was queued)."""
        self._loop.wake()

    async def run(self, stop: asyncio.Event) -> None:
        await self._loop.run(stop)

    async def send_due(self) -> int:
        """One pass over the rows that are due; returns how many were sent."""
        now = utcnow()

        def due() -> list[tuple[int, EmailMessage]]:
            with self.database.transaction() as session:
                rows = session.scalars(
                    select(MailOutbox)
                    .where(MailOutbox.sent_at.is_(None), MailOutbox.next_attempt_at <= now)
                    .order_by(MailOutbox.id)
                    .limit(self.policy.batch)
                )
                return [(row.id, build_message(row, self.policy)) for row in rows]

        sent = 0
        for row_id, message in await asyncio.to_thread(due):
            try:
                await send_message(self.relay, message)
            except RelayError as error:
                await asyncio.to_thread(self._failed, row_id, str(error))
                # the relay is down: the rest of the batch would fail the same way
                break
            await asyncio.to_thread(self._sent, row_id)
            sent += 1
        return sent

    def _sent(self, row_id: int) -> None:
        with self.database.transaction() as session:
            row = session.get(MailOutbox, row_id)
            if row is not None:
                row.sent_at = utcnow()
                row.attempts += 1
                row.last_error = ""

    def _failed(self, row_id: int, error: str) -> None:
        with self.database.transaction() as session:
            row = session.get(MailOutbox, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            delay = backoff_s(row.attempts, self.policy)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning(
                "mail %s to %s not sent (try %s, next in %.1f s): %s",
                row_id,
                row.to_addr,
                row.attempts,
                delay,
                error,
            )

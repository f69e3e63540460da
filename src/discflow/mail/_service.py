"""Mail as part of the server process: inbound SMTP, notifier and outbox sender.

Invariants:
- Nothing starts unless mail is configured: ``DISCFLOW_SMTP_PORT`` (with
  ``DISCFLOW_MAIL_DOMAIN``) for inbound commands, ``DISCFLOW_SMTP_RELAY_HOST``
  for outbound mail. With inbound only, replies wait in the outbox until a
  relay is configured; they are never dropped.
- The notifier's cursor is placed before the server answers anything, so an
  event logged after start-up is always mailed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from discflow.errors import ConfigError
from discflow.mail._desk import DeskPolicy, MailDesk
from discflow.mail._notify import Notifier, start_cursor
from discflow.mail._outbox import OutboxPolicy, OutboxSender, RelayConfig
from discflow.mail._smtp import start_inbound
from discflow.settings import Settings
from discflow.store import Database


@dataclass(frozen=True, slots=True)
class MailSettings:
    """The mail part of ``Settings``, checked."""

    domain: str
    sender: str
    inbound_host: str
    inbound_port: int  # 0: no inbound server
    relay: RelayConfig | None
    desk: DeskPolicy
    outbox: OutboxPolicy
    poll_s: float

    @property
    def enabled(self) -> bool:
        return self.inbound_port > 0 or self.relay is not None


def mail_settings(settings: Settings) -> MailSettings:
    domain = settings.mail_domain.strip().lower()
    if settings.smtp_port and not domain:
        raise ConfigError(
            "DISCFLOW_SMTP_PORT is set but DISCFLOW_MAIL_DOMAIN is not; "
            "set the domain discflow takes mail for, e.g. DISCFLOW_MAIL_DOMAIN=discs.example.org"
        )
    sender = settings.mail_from.strip() or f"discflow@{domain or 'localhost'}"
    relay = (
        RelayConfig(
            host=settings.smtp_relay_host,
            port=settings.smtp_relay_port,
            username=settings.smtp_relay_user,
            password=settings.smtp_relay_password,
            starttls=settings.smtp_relay_starttls,
            ca_file=settings.smtp_relay_ca_file,
        )
        if settings.smtp_relay_host
        else None
    )
    return MailSettings(
        domain=domain,
        sender=sender,
        inbound_host=settings.smtp_host,
        inbound_port=settings.smtp_port,
        relay=relay,
        desk=DeskPolicy(
            domain=domain, max_bytes=settings.mail_max_bytes, per_hour=settings.mail_per_hour
        ),
        outbox=OutboxPolicy(
            sender=sender,
            domain=domain or "localhost",
            retry_base_s=settings.mail_retry_base_s,
            retry_max_s=settings.mail_retry_max_s,
        ),
        poll_s=settings.mail_poll_s,
    )


class MailService:
    """The running mail pieces of one server process."""

    def __init__(self, database: Database, config: MailSettings) -> None:
        self.database = database
        self.config = config
        self.sender = (
            OutboxSender(database, config.relay, config.outbox, poll_s=config.poll_s)
            if config.relay is not None
            else None
        )
        wake = self.sender.wake if self.sender is not None else None
        self.desk = MailDesk(database, config.desk, on_queued=wake)
        self.notifier = Notifier(database, poll_s=config.poll_s, on_queued=wake)
        self.server: asyncio.Server | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await asyncio.to_thread(start_cursor, self.database)
        if self.config.inbound_port:
            self.server = await start_inbound(
                self.desk,
                host=self.config.inbound_host,
                port=self.config.inbound_port,
                hostname=self.config.domain,
            )
        self._tasks.append(asyncio.create_task(self.notifier.run(self._stop), name="notifier"))
        if self.sender is not None:
            self._tasks.append(asyncio.create_task(self.sender.run(self._stop), name="outbox"))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def mail_services(
    database: Database, settings: Settings
) -> AsyncIterator[MailService | None]:
    """Run mail for the lifetime of the block when it is configured (else yield None)."""
    config = mail_settings(settings)
    if not config.enabled:
        yield None
        return
    service = MailService(database, config)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()

"""The inbound SMTP server (aiosmtpd) on the server's own event loop.

Invariants:
- Only recipients at the configured domain are taken (no open relay); others
  are refused at RCPT time and logged.
- The SMTP answer to DATA is the desk's verdict, given after the mail was
  judged and its effects committed: a client that saw 250 can forget the mail.
- Mail over four times the per-sender limit is cut off by aiosmtpd itself
  (552, not logged: it never reaches discflow); up to that, an oversize mail is
  read, refused and logged by the desk.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from discflow.errors import ConfigError
from discflow.mail._desk import MailDesk

log = logging.getLogger(__name__)


class InboundHandler:
    """The aiosmtpd handler: RCPT checks the domain, DATA hands the mail to the desk."""

    def __init__(self, desk: MailDesk) -> None:
        self.desk = desk

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.desk.accepts_recipient(address):
            await asyncio.to_thread(
                self.desk.refuse_recipient, address, mail_from=str(envelope.mail_from or "")
            )
            return f"550 5.7.1 This server takes mail for @{self.desk.policy.domain} only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            verdict = await self.desk.receive(
                mail_from=str(envelope.mail_from or ""),
                recipients=[str(r) for r in envelope.rcpt_tos],
                data=bytes(data),
            )
        except Exception:  # the client must hear "try later", not see the connection drop
            log.exception("mail from %s could not be handled", envelope.mail_from)
            return "451 4.3.0 Temporary failure; try again later"
        return verdict.status


async def start_inbound(desk: MailDesk, *, host: str, port: int, hostname: str) -> asyncio.Server:
    """Listen for SMTP on ``host:port``; close the returned server to stop."""
    handler = InboundHandler(desk)
    hard_limit = max(desk.policy.max_bytes * 4, 65_536)
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(
            lambda: SMTP(
                handler,
                data_size_limit=hard_limit,
                enable_SMTPUTF8=True,
                hostname=hostname,
                ident="discflow",
            ),
            host=host,
            port=port,
        )
    except OSError as error:
        raise ConfigError(
            f"cannot listen for mail on {host}:{port} ({error}); "
            "choose another DISCFLOW_SMTP_PORT or --smtp-port"
        ) from error

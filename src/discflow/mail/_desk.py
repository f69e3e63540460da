"""The mail desk: one received mail in, one verdict out, every outcome in the task log.

Invariants:
- Each mail ends in exactly one task-log event: ``mail.accepted`` (its commands
  ran) or ``mail.refused`` (with a ``reason``), whatever bytes it held.
- Unknown senders, replays, automatic mail and rate-limited senders get no
  mail back (no backscatter, no loops); a known sender whose mail is refused
  for a wrong token, bad syntax or no plain text gets a polite reply saying why
  and what to write instead. Replies go to the address on the account, never
  to an address taken from the mail.
- A mail's Message-ID is claimed before its commands run, so a replay of an
  accepted mail changes nothing (at most once: if discflow dies in between,
  the commands are not run a second time).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email import policy as email_policy
from email.errors import MessageError
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from discflow.mail._commands import Answer, execute
from discflow.mail._grammar import Command, MailSyntaxError, find_token, help_text, parse_mail
from discflow.mail._outbox import enqueue
from discflow.mail._senders import (
    claim_message,
    header_address,
    mails_since,
    normalise_address,
    recipient_token,
    token_matches,
    user_for_address,
)
from discflow.store import Database, Principal, Role, User, record, utcnow

# what reading a hostile message can raise, besides our own parse error
_UNREADABLE = (MessageError, ValueError, LookupError, UnicodeError, TypeError, AttributeError)


@dataclass(frozen=True, slots=True)
class DeskPolicy:
    domain: str
    max_bytes: int = 262_144
    per_hour: int = 30


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # the SMTP answer to give the client
    accepted: bool
    reason: str = ""  # why it was refused
    queued: bool = False  # a reply waits in the outbox


@dataclass(frozen=True, slots=True)
class _Admitted:
    """A mail that passed every guard: who sent it and what it asks."""

    user: User
    commands: tuple[Command, ...]
    subject: str
    in_reply_to: str | None
    facts: dict[str, Any]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except _UNREADABLE:
        return ""


def _plain_body(message: EmailMessage) -> str | None:
    try:
        part = message.get_body(preferencelist=("plain",))
        if part is None:
            return None
        content = part.get_content()
    except _UNREADABLE:
        return None
    return content if isinstance(content, str) else None


def _reply_subject(subject: str) -> str:
    subject = subject or "your mail to discflow"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def _reply_body(user: User, sections: Sequence[tuple[str, str]]) -> str:
    parts = [f"Hello {user.name},", ""]
    for quoted, text in sections:
        if quoted:
            parts.append(f"> {quoted}")
        parts += [text, ""]
    parts += ["-- ", "discflow (send HELP for the list of mail commands)"]
    return "\n".join(parts) + "\n"


_BAD_TOKEN = (
    "We received a mail from your address, but it did not carry your current mail token,\n"  # nosec B105
    "so nothing was done.\n\n"
    "If you sent it: add a line 'TOKEN <your mail token>' to the body (or send to\n"
    "<name>+<token>@{domain}). Your token is on your account page; an operator can\n"
    "issue a new one with 'discflow user mail-token --user {name}'.\n"
    "If you did not send it, someone wrote in your name; nothing was done."
)


class MailDesk:
    """Judges and carries out received mail; ``on_queued`` is called when mail was queued."""

    def __init__(
        self,
        database: Database,
        policy: DeskPolicy,
        *,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.policy = policy
        self.on_queued = on_queued

    def accepts_recipient(self, address: str) -> bool:
        return normalise_address(address).rpartition("@")[2] == self.policy.domain.lower()

    # -- refusals -------------------------------------------------------------------

    def _refuse(
        self,
        reason: str,
        detail: str,
        *,
        status: str,
        sender: str,
        data: dict[str, Any],
        reply: tuple[User, str, str | None, str] | None = None,
    ) -> Verdict:
        """Log the refusal and, for a known sender, queue a polite reply."""
        with self.database.transaction() as session:
            record(
                session,
                "mail.refused",
                f"{reason}: {detail}",
                actor=(sender or "unknown")[:64],
                data={"reason": reason, **data},
            )
            if reply is not None:
                user, subject, in_reply_to, text = reply
                enqueue(
                    session,
                    to=user.email or sender,
                    subject=_reply_subject(subject),
                    body=_reply_body(user, [("", text)]),
                    kind="reply",
                    in_reply_to=in_reply_to,
                )
        return Verdict(status=status, accepted=False, reason=reason, queued=reply is not None)

    def refuse_recipient(self, address: str, *, mail_from: str) -> None:
        with self.database.transaction() as session:
            record(
                session,
                "mail.refused",
                f"not-our-domain: recipient {address[:100]!r} is not @{self.policy.domain}",
                actor=(mail_from or "unknown")[:64],
                data={"reason": "not-our-domain", "recipient": address[:254]},
            )

    # -- the pipeline ---------------------------------------------------------------

    async def receive(self, *, mail_from: str, recipients: Sequence[str], data: bytes) -> Verdict:
        """Judge one mail and carry out its commands; the verdict says what to answer."""
        # NUL has no place in mail text (RFC 5322) and no database text column takes it
        mail_from = mail_from.replace("\x00", "")
        recipients = [r.replace("\x00", "") for r in recipients]
        data = data.replace(b"\x00", b"")
        judged = await asyncio.to_thread(self._judge, mail_from, list(recipients), data)
        if isinstance(judged, _Admitted):
            user = judged.user
            who = Principal(user_id=user.id, name=user.name, role=Role(user.role))
            answers = [await execute(self.database, who, command) for command in judged.commands]
            judged = await asyncio.to_thread(self._accept, judged, answers)
        if judged.queued and self.on_queued is not None:
            self.on_queued()
        return judged

    def _judge(self, mail_from: str, recipients: list[str], data: bytes) -> Verdict | _Admitted:
        envelope = {"envelope_from": mail_from[:254], "bytes": len(data)}
        try:
            message = BytesParser(policy=email_policy.default).parsebytes(data)
        except _UNREADABLE as error:
            return self._refuse(
                "unreadable",
                str(error)[:200],
                status="550 5.6.0 Unreadable message",
                sender=mail_from,
                data=envelope,
            )
        assert isinstance(message, EmailMessage)
        from_addr = header_address(_header(message, "From")) or ""
        message_id = _header(message, "Message-ID")[:300]
        seen_id = message_id or "sha256:" + hashlib.sha256(data).hexdigest()
        facts = {**envelope, "from": from_addr, "message_id": seen_id}
        sender = from_addr or mail_from

        if len(data) > self.policy.max_bytes:
            return self._refuse(
                "oversize",
                f"{len(data)} bytes, the limit is {self.policy.max_bytes}",
                status=f"552 5.3.4 Message too big: the limit is {self.policy.max_bytes} bytes",
                sender=sender,
                data=facts,
            )
        if _header(message, "Auto-Submitted").lower() not in ("", "no"):
            return self._refuse(
                "auto-submitted",
                "automatic mail is never answered (no loops)",
                status="250 OK",
                sender=sender,
                data=facts,
            )
        with self.database.transaction() as session:
            user = user_for_address(session, from_addr) if from_addr else None
            recent = (
                mails_since(session, sender=user.email or "", since=utcnow() - timedelta(hours=1))
                if user is not None
                else 0
            )
        if user is None:
            # no backscatter: a stranger (or a forged stranger) hears nothing back
            return self._refuse(
                "unknown-sender",
                f"{from_addr or 'no From address'} is not a user's address",
                status="250 OK",
                sender=sender,
                data=facts,
            )
        if recent >= self.policy.per_hour:
            return self._refuse(
                "rate-limit",
                f"{recent} mails in the last hour (limit {self.policy.per_hour})",
                status="451 4.7.1 Too many mails from you this hour; try again later",
                sender=sender,
                data=facts,
            )
        return self._judge_commands(message, recipients, user, seen_id, sender, facts)

    def _judge_commands(
        self,
        message: EmailMessage,
        recipients: list[str],
        user: User,
        seen_id: str,
        sender: str,
        facts: dict[str, Any],
    ) -> Verdict | _Admitted:
        """A known sender within its rate: a fresh message with a valid token and commands."""
        message_id = _header(message, "Message-ID")[:300]
        subject = _header(message, "Subject")[:300]
        body = _plain_body(message)
        token = recipient_token(recipients, self.policy.domain) or find_token(subject, body or "")
        in_reply_to = message_id or None
        with self.database.transaction() as session:
            fresh = claim_message(session, message_id=seen_id, sender=user.email or sender)
        if not fresh:
            return self._refuse(
                "replay",
                f"Message-ID {seen_id} was handled before; nothing done again",
                status="250 OK",
                sender=sender,
                data=facts,
            )
        if not token_matches(user, token):
            text = _BAD_TOKEN.format(domain=self.policy.domain, name=user.name)
            return self._refuse(
                "bad-token",
                "no valid mail token",
                status="250 OK",
                sender=sender,
                data=facts,
                reply=(user, subject, in_reply_to, text),
            )
        if body is None:
            text = "Your mail had no plain-text part; write the commands as plain text.\n\n"
            return self._refuse(
                "no-plain-text",
                "no text/plain part",
                status="250 OK",
                sender=sender,
                data=facts,
                reply=(user, subject, in_reply_to, text + help_text()),
            )
        try:
            parsed = parse_mail(subject, body)
        except MailSyntaxError as error:
            quoted = f"That line was: {error.line}\n" if error.line else ""
            text = f"Nothing was done: {error}\n{quoted}\nThe correct syntax is:\n\n{error.usage}\n"
            if error.verb:
                text += "\n" + help_text()
            return self._refuse(
                "syntax",
                str(error)[:300],
                status="250 OK",
                sender=sender,
                data={**facts, "line": error.line},
                reply=(user, subject, in_reply_to, text),
            )
        if not parsed.commands:
            text = "Your mail held no command, so nothing was done.\n\n" + help_text()
            return self._refuse(
                "no-command",
                "no command line found",
                status="250 OK",
                sender=sender,
                data=facts,
                reply=(user, subject, in_reply_to, text),
            )
        return _Admitted(user, parsed.commands, subject, in_reply_to, facts)

    def _accept(self, admitted: _Admitted, answers: Sequence[Answer]) -> Verdict:
        user, subject, in_reply_to, facts = (
            admitted.user,
            admitted.subject,
            admitted.in_reply_to,
            admitted.facts,
        )
        sender = user.email or ""
        with self.database.transaction() as session:
            record(
                session,
                "mail.accepted",
                f"{len(answers)} command(s) from {user.name} by mail",
                actor=user.name,
                order_id=next((a.order_id for a in answers if a.order_id), None),
                data={
                    **facts,
                    "commands": [a.command[:100] for a in answers],
                    "refused": [a.command[:100] for a in answers if not a.ok],
                    "orders": [a.order_id for a in answers if a.order_id],
                },
            )
            enqueue(
                session,
                to=user.email or sender,
                subject=_reply_subject(subject),
                body=_reply_body(user, [(a.command, a.text) for a in answers]),
                kind="reply",
                in_reply_to=in_reply_to,
            )
        return Verdict(status="250 OK", accepted=True, queued=True)

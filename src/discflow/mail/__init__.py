"""E-mail commands and notifications (claim 10): see docs/mail.md.

Inbound: an SMTP server (aiosmtpd) takes mail for the configured domain; the
grammar (``parse_mail``, pure) reads the commands; the desk checks the sender,
token, replay and limits; each module answers its own commands. Outbound: every
mail is a row in the outbox first, sent through the relay with backoff; the
notifier follows the task log for shipped discs, order confirmations and
operator notices.
"""

from discflow.mail._commands import MODULES, Answer, execute
from discflow.mail._desk import DeskPolicy, MailDesk, Verdict
from discflow.mail._grammar import (
    USAGE,
    Command,
    MailSyntaxError,
    OrderItem,
    ParsedMail,
    find_token,
    help_text,
    parse_mail,
)
from discflow.mail._notify import Notifier, notify_once, start_cursor
from discflow.mail._outbox import (
    OutboxPolicy,
    OutboxSender,
    RelayConfig,
    RelayError,
    backoff_s,
    enqueue,
    probe_message,
    send_message,
)
from discflow.mail._senders import recipient_token, rotate_mail_token
from discflow.mail._service import MailService, MailSettings, mail_services, mail_settings
from discflow.mail._smtp import InboundHandler, start_inbound

__all__ = [
    "MODULES",
    "USAGE",
    "Answer",
    "Command",
    "DeskPolicy",
    "InboundHandler",
    "MailDesk",
    "MailService",
    "MailSettings",
    "MailSyntaxError",
    "Notifier",
    "OrderItem",
    "OutboxPolicy",
    "OutboxSender",
    "ParsedMail",
    "RelayConfig",
    "RelayError",
    "Verdict",
    "backoff_s",
    "enqueue",
    "execute",
    "find_token",
    "help_text",
    "mail_services",
    "mail_settings",
    "notify_once",
    "parse_mail",
    "probe_message",
    "recipient_token",
    "rotate_mail_token",
    "send_message",
    "start_cursor",
    "start_inbound",
]

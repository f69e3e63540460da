"""Who may command by mail: known addresses, per-user mail tokens, replay and rate guards.

Invariants:
- A mail commands only when its From address is a user's ``users.email`` AND
  it carries that user's current mail token (a ``TOKEN`` line or a ``+token``
  recipient); the From header alone proves nothing.
- A Message-ID is claimed in ``mail_seen`` once; a second mail with the same id
  is a replay and changes nothing.
- Tokens are compared in constant time and case-insensitively (some mail
  systems fold the case of local parts), so they are made of lowercase hex.
- Only the sha256 of a token is stored (``users.mail_token_hash``): a leaked
  database does not let anyone command by mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from email.utils import getaddresses

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from discflow.store import MailSeen, User, hash_token, record

TOKEN_BYTES = 12  # 24 hex digits: 96 bits


def normalise_address(address: str) -> str:
    return address.strip().strip("<>").strip().lower()


def header_address(value: str) -> str | None:
    """The one mailbox in a From header, or None when there is not exactly one."""
    pairs = [(name, addr) for name, addr in getaddresses([value]) if addr]
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        return None
    return normalise_address(pairs[0][1])


def rotate_mail_token(session: Session, user: User, *, actor: str) -> str:
    """Give ``user`` a new mail token (the old one stops working) and return it."""
    token = secrets.token_hex(TOKEN_BYTES)
    user.mail_token_hash = hash_token(token)
    record(session, "mail.token-rotated", f"new mail token for {user.name}", actor=actor)
    return token


def user_for_address(session: Session, address: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_address(address)))


def recipient_token(recipients: Iterable[str], domain: str) -> str | None:
    """The token in a ``name+token@domain`` recipient, if there is one."""
    for recipient in recipients:
        local, _, host = normalise_address(recipient).rpartition("@")
        if host == domain.lower() and "+" in local:
            return local.rsplit("+", 1)[1] or None
    return None


def token_matches(user: User, offered: str | None) -> bool:
    if not user.mail_token_hash or not offered:
        return False
    given = hash_token(offered.strip().lower().encode("utf-8", "replace").decode("utf-8"))
    return secrets.compare_digest(user.mail_token_hash.encode(), given.encode())


def claim_message(session: Session, *, message_id: str, sender: str) -> bool:
    """Record a Message-ID as handled; False when it was handled before (a replay)."""
    if session.scalar(select(MailSeen.id).where(MailSeen.message_id == message_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(MailSeen(message_id=message_id, sender=sender[:254]))
    except IntegrityError:
        return False  # the same mail arriving twice at once: the other copy won
    return True


def mails_since(session: Session, *, sender: str, since: datetime) -> int:
    """How many mails from ``sender`` were handled since ``since`` (the rate limit's count)."""
    count = session.scalar(
        select(func.count(MailSeen.id)).where(
            MailSeen.sender == sender, MailSeen.received_at >= since
        )
    )
    return int(count or 0)

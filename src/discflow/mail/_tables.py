"""The mail part's own table (migration 0005_mail); the outbox and replay guard are in store.

Invariant: ``mail_cursors.last_event_id`` moves forward only in the transaction
that queued the mails for the events up to it, so each event is mailed once.
"""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from discflow.store import Base


class MailCursor(Base):
    __tablename__ = "mail_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer)

"""The DICOM part's own tables (migration 0010).

Invariants:
- An instance row exists only once its file is complete in the spool (the file is
  renamed into place before the row is committed); the file is named after a hash
  of the SOP Instance UID, never after anything about the patient.
- ``media_requests.state`` changes only through ``_lifecycle.move``.
- Patient data lives in these rows and the spool alone, never in ``events``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from discflow.store import Base, utcnow


class DicomPeer(Base):
    """A calling AE title (optionally bound to one host) allowed in, and whose account it is."""

    __tablename__ = "dicom_peers"
    __table_args__ = (UniqueConstraint("ae_title", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ae_title: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(253), default="")  # "" = any host
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DicomInstance(Base):
    """A composite instance received by C-STORE, kept until a request uses it or it expires."""

    __tablename__ = "dicom_instances"

    sop_instance_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    calling_ae: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    preserve: Mapped[bool] = mapped_column(default=False)


class MediaRequest(Base):
    """One instance of the Media Creation Management SOP Class (PS3.4 S.3)."""

    __tablename__ = "media_requests"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    calling_ae: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    # the N-CREATE attributes as sent (label text, disposition, flags), keyword -> value
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"class": uid, "instance": uid, "profile": "STD-GEN-CD"}]
    references: Mapped[list[Any]] = mapped_column(default=list)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[str] = mapped_column(String(8), default="MED")
    order_id: Mapped[str | None] = mapped_column(String(32))
    media: Mapped[str] = mapped_column(String(16), default="")
    # one entry per disc: {"content_id", "file_set_uid", "file_set_id", "label"}
    discs: Mapped[list[Any]] = mapped_column(default=list)
    # [{"class": uid, "instance": uid, "reason": 0x0112}]
    failed: Mapped[list[Any]] = mapped_column(default=list)
    status_info: Mapped[str] = mapped_column(String(32), default="NORMAL")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

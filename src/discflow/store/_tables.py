"""The tables of discflow (SQLAlchemy 2 declarative, ``Mapped[...]``).

Invariants:
- ``events`` is append-only: rows are inserted in the same transaction as the
  state change they describe and never updated or deleted.
- Every SQL construct here also runs on PostgreSQL; dialect-specific pieces
  (full-text search) live in the migrations and in ``catalog``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from discflow.store._secrets import digest, seal, unseal
from discflow.store._types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # customer | operator | admin
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # sha256 of the lowercased mail token: only ever compared with what a mail offers
    mail_token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # sha256 of the token: a leaked database does not leak usable tokens
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class Content(Base):
    __tablename__ = "contents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    volume_id: Mapped[str] = mapped_column(String(64), default="")
    filesystems: Mapped[list[Any]] = mapped_column(default=list)
    # set for a private content (a patient disc): only this account and operators see it,
    # and it is never in the shared catalog (migration 0010)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # merge fields printed on each disc's face beside the request's own (a patient disc:
    # patient, study, "disc N of M"); names and values passed check_merge_key/value
    # (migration 0013)
    face_fields: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # title, description and tags folded to lowercase without accents, for search
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ship_to: Mapped[dict[str, Any]] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | web | mail | cli
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    requests: Mapped[list[Request]] = relationship(
        back_populates="order", order_by="Request.position"
    )


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str] = mapped_column(ForeignKey("contents.id"), index=True)
    media: Mapped[str] = mapped_column(String(16))
    copies: Mapped[int] = mapped_column(Integer)
    good_copies: Mapped[int] = mapped_column(Integer, default=0)
    failed_copies: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # a discflow.domain.Priority value (the migration checks it)
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="requests")
    content: Mapped[Content] = relationship()


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # no schema of its own: tells a flush to insert the order before its key
    order: Mapped[Order] = relationship()


class Device(Base):
    """The claim-6 resource record, refreshed from the agent's heartbeats."""

    __tablename__ = "devices"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    # the site (fleet) it belongs to: one dispatcher at a time plans each site's devices
    site: Mapped[str] = mapped_column(String(32), default="main", server_default="main", index=True)
    # the bearer token the agent accepts and sends: its sha256 to know the agent by, and
    # sealed with the server key (store._secrets) because the dispatcher must present it
    agent_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_token_sealed: Mapped[str | None] = mapped_column(Text)
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrol_expires_at: Mapped[datetime | None] = mapped_column()
    availability: Mapped[str] = mapped_column(String(16), default="offline")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    drives: Mapped[list[Any]] = mapped_column(default=list)
    cache_capacity_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_free_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    link_Bps: Mapped[int] = mapped_column(BigInteger, default=100_000_000)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)  # last heartbeat, verbatim
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    media: Mapped[list[DeviceMedia]] = relationship(
        cascade="all, delete-orphan", order_by="DeviceMedia.media"
    )
    cache: Mapped[list[DeviceCacheEntry]] = relationship(
        cascade="all, delete-orphan", order_by="DeviceCacheEntry.sha256"
    )

    @property
    def agent_token(self) -> str | None:
        """The agent's token in clear (opened with the server key), None before enrolment."""
        if self.agent_token_sealed is None:
            return None
        return unseal(self.agent_token_sealed, what=f"agent token of {self.name}")

    @agent_token.setter
    def agent_token(self, token: str | None) -> None:
        self.agent_token_hash = None if token is None else digest(token)
        self.agent_token_sealed = None if token is None else seal(token)


class DeviceMedia(Base):
    __tablename__ = "device_media"
    __table_args__ = (UniqueConstraint("device", "media"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(ForeignKey("devices.name"))
    media: Mapped[str] = mapped_column(String(16))
    loaded: Mapped[int] = mapped_column(Integer, default=0)  # blanks remaining now
    loaded_total: Mapped[int] = mapped_column(Integer, default=0)
    used_good: Mapped[int] = mapped_column(Integer, default=0)
    used_failed: Mapped[int] = mapped_column(Integer, default=0)
    write_Bps: Mapped[int] = mapped_column(BigInteger, default=0)
    overhead_s: Mapped[float] = mapped_column(Float, default=60.0)
    low_threshold: Mapped[int] = mapped_column(Integer, default=10)
    counted_at: Mapped[float] = mapped_column(Float, default=0.0)  # the agent's clock


class DeviceCacheEntry(Base):
    __tablename__ = "device_cache"
    __table_args__ = (UniqueConstraint("device", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(ForeignKey("devices.name"))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    last_used: Mapped[float] = mapped_column(Float, default=0.0)


class Job(Base):
    """A write command the dispatcher gave (or will give) to one device."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    device: Mapped[str] = mapped_column(ForeignKey("devices.name"), index=True)
    media: Mapped[str] = mapped_column(String(16))
    copies: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)  # a DispatchState
    # a DispatchReason: what code reads; ``error`` is the sentence for people
    reason: Mapped[str] = mapped_column(String(40), default="none", server_default="none")
    good_copies: Mapped[int] = mapped_column(Integer, default=0)
    failed_copies: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the planner's estimate of its last disc (shown as the request's ETA); None: not planned
    planned_end_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notice(Base):
    """Something the operator must see or do ("Load 100 CD-R into pub-2")."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # media-low | media-out | device-offline...
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | error
    device: Mapped[str | None] = mapped_column(String(64))
    media: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    cleared_at: Mapped[datetime | None] = mapped_column()


class Event(Base):
    """The task log (claim 4's first module): one row per state change, never edited."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_order_request", "order_id", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(48), index=True)
    order_id: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    device: Mapped[str | None] = mapped_column(String(64), index=True)
    content_id: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebSession(Base):
    """A signed-in browser; the cookie holds the id, the table holds its sha256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


class SavedAddress(Base):
    __tablename__ = "saved_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailOutbox(Base):
    """Mail to send; a row leaves only by being sent (never lost while the relay is down)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="reply")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")


class MailSeen(Base):
    """Message-IDs already handled, so a replayed mail changes nothing."""

    __tablename__ = "mail_seen"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    sender: Mapped[str] = mapped_column(String(254))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrintJob(Base):
    """A label sent (or to be sent) to a printer; one per request when labels print per request."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    printer: Mapped[str] = mapped_column(Text)
    sheet: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # pending | printed | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    backend_job: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column()


class Lease(Base):
    """A named lease held by one dispatcher until it expires: ``planner`` (the floor
    watch, labels, webhooks), ``planner:<site>`` (planning a site), ``alive:<owner>``
    (a dispatcher is running)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column()


class SignInFailure(Base):
    """One failed sign-in, under the keys it counts against (``account:NAME``, ``client:ADDR``).

    In the database, not in a process: every ``--workers`` process sees every failure."""

    __tablename__ = "signin_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_signin_failures_key_at", "key", "failed_at"),)

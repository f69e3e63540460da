"""The hot path on SQLite: each call is one hop to a worker thread, one short transaction.

Why a thread hop and not aiosqlite: aiosqlite runs every statement on a thread of its
own, so an order (begin, four statements, commit) would be six hops where this is one;
and the writes go through the synchronous engine's writer gate (``store._db``), which
queues this process's writers instead of letting them poll SQLite's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from discflow.store._auth import Principal, Role
from discflow.store._caches import CatalogEntry
from discflow.store._intake import OrderRows, QuotaCheck
from discflow.store._tables import ApiToken, Content, Event, IdempotencyKey, Order, Request, User

__all__ = ["SqliteHotBackend"]

T = TypeVar("T")
R = TypeVar("R")

# built once: constructing a statement costs more than SQLAlchemy's compiled-cache hit
_KEY = (
    sqlite_insert(IdempotencyKey)
    .on_conflict_do_nothing(index_elements=["user_id", "key"])
    .returning(IdempotencyKey.id)
)
_ORDER = insert(Order)
_REQUESTS = insert(Request)
_EVENTS = insert(Event)


class SqliteHotBackend:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # an in-memory database exists once per thread (SQLAlchemy pools it per thread):
        # there, a call runs where it is made, or it would find a different, empty database
        self._inline = engine.url.database in (None, "", ":memory:")

    async def _run(self, call: Callable[[T], R], argument: T) -> R:
        if self._inline:
            return call(argument)
        return await to_thread.run_sync(call, argument)

    def _principal(self, token_hash: str) -> Principal | None:
        statement = (
            select(User.id, User.name, User.role)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked.is_(False))
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return Principal(user_id=row.id, name=row.name, role=Role(row.role))

    async def principal(self, token_hash: str) -> Principal | None:
        return await self._run(self._principal, token_hash)

    def _catalog_entry(self, content_id: str) -> CatalogEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Content.__table__).where(Content.id == content_id)
            ).first()
        if row is None:
            return None
        return CatalogEntry(
            id=row.id,
            title=row.title,
            description=row.description,
            tags=list(row.tags),
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            volume_id=row.volume_id,
            filesystems=list(row.filesystems),
            created_at=row.created_at,
            owner_user_id=row.owner_user_id,
        )

    async def catalog_entry(self, content_id: str) -> CatalogEntry | None:
        return await self._run(self._catalog_entry, content_id)

    def _insert_order(self, job: tuple[OrderRows, QuotaCheck | None]) -> bool:
        rows, quota_check = job
        with self.engine.connect() as connection:
            connection.begin()  # the quota's session joins it; leaving unfinished rolls back
            if quota_check is not None:
                with Session(bind=connection) as session:
                    quota_check(session)
            connection.execute(
                _ORDER,
                {
                    "id": rows.id,
                    "user_id": rows.user_id,
                    "ship_to": rows.ship_to,
                    "source": rows.source,
                    "created_at": rows.created_at,
                },
            )
            if rows.idempotency_key is not None:
                # the unique (user, key) row decides between concurrent retries; the
                # loser writes nothing and place_order answers it
                key = {
                    "user_id": rows.user_id,
                    "key": rows.idempotency_key,
                    "body_hash": rows.body_hash,
                    "order_id": rows.id,
                    "created_at": rows.created_at,
                }
                if connection.execute(_KEY, key).first() is None:
                    connection.rollback()
                    return False
            connection.execute(_REQUESTS, _request_rows(rows))
            connection.execute(_EVENTS, _event_rows(rows))
            connection.commit()
        return True

    async def insert_order(self, rows: OrderRows, quota_check: QuotaCheck | None) -> bool:
        return await self._run(self._insert_order, (rows, quota_check))

    def _newest_event_id(self, types: Sequence[str]) -> int:
        with self.engine.connect() as connection:
            newest = connection.scalar(select(func.max(Event.id)).where(Event.type.in_(types)))
        return int(newest or 0)

    async def newest_event_id(self, types: Sequence[str]) -> int:
        return await self._run(self._newest_event_id, types)

    async def start(self) -> None:
        """Nothing of its own: the connections are the synchronous engine's."""

    async def dispose(self) -> None:
        """Nothing of its own to close."""


def _request_rows(rows: OrderRows) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "order_id": rows.id,
            "position": r.position,
            "content_id": r.content_id,
            "media": r.media,
            "copies": r.copies,
            "good_copies": 0,
            "failed_copies": 0,
            "state": r.state,
            "reason": "",
            "priority": r.priority,
            "created_at": rows.created_at,
            "updated_at": rows.created_at,
        }
        for r in rows.requests
    ]


def _event_rows(rows: OrderRows) -> list[dict[str, Any]]:
    common = {"at": rows.created_at, "order_id": rows.id, "actor": rows.user_name, "data": {}}
    received = {
        **common,
        "type": "order.received",
        "request_id": None,
        "content_id": None,
        "message": rows.received_message(),
    }
    return [received] + [
        {
            **common,
            "type": "request.queued",
            "request_id": r.id,
            "content_id": r.content_id,
            "message": rows.queued_message(r),
        }
        for r in rows.requests
    ]

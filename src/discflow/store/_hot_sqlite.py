"""The hot path on SQLite: each call is one hop to a worker thread, one short transaction.

Why a thread hop and not aiosqlite: aiosqlite runs every statement on a thread of its
own, so an order (begin, four statements, commit) would be six hops where this is one;
and the writes go through the synchronous engine's writer gate (``store._db``), which
queues this process's writers instead of letting them poll SQLite's lock.

Orders are written by one thread per process, on one connection it keeps: SQLite takes
one writer at a time anyway, so concurrent orders queue on that thread's executor
instead of as threads parked on the writer gate (each parked thread a wake-up and a
hand-off), and the connection's page cache stays warm from one order to the next (a
connection taken from the pool in turn finds its cache stale and reads every page again).

Invariant: an order's first write goes through SQLAlchemy (so the writer gate is taken
and the transaction begun as for every other writer); the rest run on the same DBAPI
connection in that transaction, as the SQL SQLAlchemy compiled for them once, with
SQLAlchemy's own bind processors applied (``_Prepared``): the same rows, stored the same
way, without SQLAlchemy's per-statement execution machinery (most of an order's cost).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from anyio import to_thread
from sqlalchemy import Connection, Dialect, Engine, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

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


class _Prepared:
    """An INSERT compiled once for ``columns``, run with the DBAPI cursor itself."""

    def __init__(self, statement: Insert, columns: Sequence[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        names = compiled.positiontup or []
        # SQLAlchemy's per-type conversions (UTC datetimes, JSON), as its own execution uses
        processors = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
        self._columns = tuple((name, processors.get(name)) for name in names)

    def values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            row[name] if process is None else process(row[name]) for name, process in self._columns
        )


class SqliteHotBackend:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # an in-memory database exists once per thread (SQLAlchemy pools it per thread):
        # there, a call runs where it is made, or it would find a different, empty database
        self._inline = engine.url.database in (None, "", ":memory:")
        dialect = engine.dialect
        self._key = _Prepared(_KEY, _KEY_COLUMNS, dialect)
        self._requests = _Prepared(insert(Request), _REQUEST_COLUMNS, dialect)
        self._events = _Prepared(insert(Event), _EVENT_COLUMNS, dialect)
        self._writer: ThreadPoolExecutor | None = None  # made on first use, in start()'s loop
        self._connection: Connection | None = None  # the writer thread's own

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
        if self._inline:
            with self.engine.connect() as connection:
                return self._write_order(connection, job)
        # on the writer thread: its connection, kept between orders
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect()
        connection = self._connection
        try:
            return self._write_order(connection, job)
        except BaseException:
            self._connection = None  # closing it rolls back what it began
            connection.close()
            raise

    def _write_order(
        self, connection: Connection, job: tuple[OrderRows, QuotaCheck | None]
    ) -> bool:
        rows, quota_check = job
        connection.begin()  # the quota's session joins it
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
        cursor = cast(Any, connection.connection.driver_connection).cursor()
        try:
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
                cursor.execute(self._key.sql, self._key.values(key))
                if cursor.fetchone() is None:
                    connection.rollback()
                    return False
            requests = self._requests
            cursor.executemany(requests.sql, [requests.values(r) for r in _request_rows(rows)])
            events = self._events
            cursor.executemany(events.sql, [events.values(e) for e in _event_rows(rows)])
        finally:
            cursor.close()
        connection.commit()
        return True

    async def insert_order(self, rows: OrderRows, quota_check: QuotaCheck | None) -> bool:
        job = (rows, quota_check)
        if self._inline:
            return self._insert_order(job)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="discflow-orders")
        return await asyncio.get_running_loop().run_in_executor(
            self._writer, self._insert_order, job
        )

    def _newest_event_id(self, types: Sequence[str]) -> int:
        with self.engine.connect() as connection:
            newest = connection.scalar(select(func.max(Event.id)).where(Event.type.in_(types)))
        return int(newest or 0)

    async def newest_event_id(self, types: Sequence[str]) -> int:
        return await self._run(self._newest_event_id, types)

    async def start(self) -> None:
        """Nothing to open: the connections are the synchronous engine's."""

    async def dispose(self) -> None:
        """The writer thread and its connection (made again if used after this)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        await asyncio.get_running_loop().run_in_executor(writer, self._close_connection)
        writer.shutdown(wait=False)

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


_KEY_COLUMNS = ("user_id", "key", "body_hash", "order_id", "created_at")
_REQUEST_COLUMNS = (
    "id",
    "order_id",
    "position",
    "content_id",
    "media",
    "copies",
    "good_copies",
    "failed_copies",
    "state",
    "reason",
    "priority",
    "created_at",
    "updated_at",
)
_EVENT_COLUMNS = ("at", "type", "order_id", "request_id", "content_id", "actor", "message", "data")


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

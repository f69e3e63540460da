"""Engines, sessions and schema migrations.

Invariant: the schema is only ever created by Alembic migrations (never
``create_all``), so a database made by any release upgrades the same way.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from discflow.store._hot_pg import PgHotBackend, socket_has_news
from discflow.store._hot_sqlite import SqliteHotBackend
from discflow.store._intake import HotPath

_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # WAL + busy timeout: the server and the dispatcher share one file
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class _WriterGate:
    """One writing transaction at a time per engine, queued on a lock.

    SQLite lets one connection write at a time; left to itself, every other
    writer polls with growing sleeps (up to 100 ms) and the unlucky ones wait
    seconds under load. Threads of one process queue here instead and go in
    turn; other processes (API workers, the dispatcher) still meet SQLite's
    busy timeout, but with one writer each rather than a crowd.
    """

    _HELD = "discflow_writer_gate"

    def __init__(self, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    def before_execute(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(self._HELD) or not _WRITES.match(statement):
            return
        # past the timeout go on regardless: SQLite's own busy timeout then decides
        conn.info[self._HELD] = self._lock.acquire(timeout=self._timeout_s)

    def release(self, conn: Connection) -> None:
        if conn.info.pop(self._HELD, False):
            self._lock.release()

    def release_record(self, _dbapi: Any, record: ConnectionPoolEntry, *_args: Any) -> None:
        # a connection handed back to the pool without commit or rollback
        if record.info.pop(self._HELD, False):
            self._lock.release()

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self.before_execute)
        event.listen(engine, "commit", self.release)
        event.listen(engine, "rollback", self.release)
        event.listen(engine.pool, "checkin", self.release_record)


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP)\b", re.IGNORECASE)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        in_memory = not path or path == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # as many connections as the server has threads: reopening one costs pragmas;
        # 40 in all >= web._admission.MAX_DB_REQUESTS plus the in-process dispatcher.
        # (An in-memory database lives in one connection: SQLAlchemy pools it alone.)
        pool: dict[str, int] = {} if in_memory else {"pool_size": 20, "max_overflow": 20}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _WriterGate(timeout_s=30).install(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # pool_size covers the API's usual concurrency: overflow connections are closed on
    # return, and reconnecting (a new PostgreSQL backend) costs far more than a query;
    # 40 in all >= web._admission.MAX_DB_REQUESTS plus the in-process dispatcher
    # no pool_pre_ping (a round trip before every transaction): connections are recycled
    # after 30 min, and one that broke is invalidated by the error it raised
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)
    event.listen(engine, "before_cursor_execute", without_nul, retval=True)
    # ... and one whose backend went away while pooled is replaced at checkout, found by
    # a poll of its socket (a round trip only when the socket has news)
    event.listen(engine, "checkout", _replace_if_gone)
    return engine


def _replace_if_gone(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if not socket_has_news(dbapi_connection.fileno()):
        return
    try:
        dbapi_connection.execute("")  # news may be a NOTIFY: the connection then still works
        dbapi_connection.rollback()  # and is handed out outside any transaction, as usual
    except Exception as error:  # the pool then opens a new connection and tries again
        raise exc.DisconnectionError(f"pooled connection went away: {error}") from error


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def without_nul(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    # PostgreSQL text cannot hold NUL, which SQLite stores; text from outside (a mail, a
    # form) may carry one: store U+FFFD instead of failing the whole transaction
    if isinstance(parameters, dict):
        return statement, {k: _no_nul(v) for k, v in parameters.items()}
    if executemany and isinstance(parameters, list | tuple):
        return statement, [
            {k: _no_nul(v) for k, v in p.items()} if isinstance(p, dict) else p for p in parameters
        ]
    return statement, parameters


def without_nul_values(parameters: dict[str, Any]) -> dict[str, Any]:
    """The same for parameters sent by psycopg directly (``store._hot_pg``)."""
    return {k: _no_nul(v) for k, v in parameters.items()}


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it already is)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """One engine and its session factory, shared by a process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._hot: HotPath | None = None

    @property
    def hot(self) -> HotPath:
        """The API's hot path on this database: caches and set-based statements."""
        if self._hot is None:
            if self.engine.dialect.name == "postgresql":
                # imported here: the change feed's module imports this one
                from discflow.store._feed import CHANNEL

                backend = PgHotBackend(
                    self.engine, clean_parameters=without_nul_values, channel=CHANNEL
                )
                self._hot = HotPath(backend)
            else:
                self._hot = HotPath(SqliteHotBackend(self.engine))
        return self._hot

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

"""The change feed: tells a dispatcher in another process that the task log grew.

Invariant: every transaction that records an event announces it on commit
(PostgreSQL ``NOTIFY discflow_events``, sent by the server with the commit, so
a listener never hears of a change it cannot yet read); SQLite has no
notifications, so there the feed compares the newest event id.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from discflow.store._db import Database
from discflow.store._events import RECORDED_FLAG
from discflow.store._tables import Event

__all__ = ["CHANNEL", "ChangeFeed"]

CHANNEL = "discflow_events"
_log = logging.getLogger("discflow.store")


@event.listens_for(Session, "before_commit")
def _notify_on_commit(session: Session) -> None:
    if not session.info.pop(RECORDED_FLAG, False):
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(RECORDED_FLAG, None)


class ChangeFeed:
    """``await feed.changed(timeout)``: True once the task log grew since the last call."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._last_id = 0
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self.listens = database.engine.dialect.name == "postgresql"

    async def changed(self, timeout: float) -> bool:
        if not self.listens:
            return self._grew()
        try:
            if self._listener is None:
                url = self.database.engine.url.set(drivername="postgresql")
                self._listener = await psycopg.AsyncConnection.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                )
                await self._listener.execute(f"LISTEN {CHANNEL}")
                return True  # anything may have happened before we listened
            heard = False
            async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                heard = True  # out of the generator first: it holds the connection's lock
            if heard:
                await self._drain()
            return heard
        except psycopg.Error as error:  # the feed is a hint: poll until it is back
            _log.warning("change feed lost (%s); polling the task log", error)
            await self.close()
            return self._grew()

    async def settle(self) -> None:
        """Forget what was heard so far: the caller is about to read the store anyway,
        and those changes are committed (a NOTIFY is delivered after its commit)."""
        if self._listener is not None:
            try:
                await self._drain()
            except psycopg.Error:  # the next ``changed`` reconnects and says so
                await self.close()
        elif not self.listens:
            self._grew()

    async def _drain(self) -> None:
        """Swallow the notifications already queued: one wake-up answers a burst.

        Each committed transaction that recorded an event sends one NOTIFY, so a
        busy floor queues dozens between two rounds; told one at a time, a
        dispatcher would run a round for each (and each round's own writes
        queue more), whatever there is to do."""
        assert self._listener is not None
        async for _ in self._listener.notifies(timeout=0.01):  # what is queued, no more
            pass

    def _grew(self) -> bool:
        with self.database.transaction() as session:
            newest = session.scalar(select(func.max(Event.id))) or 0
        if newest > self._last_id:
            self._last_id = newest
            return True
        return False

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            await listener.close()

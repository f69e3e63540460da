"""The change feed a dispatcher in another process sleeps on: LISTEN/NOTIFY on PostgreSQL,
the newest event id on SQLite. Either way: quiet when nothing happened, told when a
transaction that recorded an event commits, and not told of one that rolled back."""

from __future__ import annotations

import time

import pytest

from discflow import store
from discflow.store import ChangeFeed, Database


async def test_feed_tells_of_committed_events_only(database: Database) -> None:
    feed = ChangeFeed(database)
    try:
        await feed.changed(timeout=0.1)  # first call: listening starts / newest id read
        assert not await feed.changed(timeout=0.3), "nothing happened yet"

        with pytest.raises(RuntimeError), database.transaction() as session:
            store.record(session, "test.rolled-back", "never committed")
            raise RuntimeError("roll back")
        assert not await feed.changed(timeout=0.3), "a rolled-back event was announced"

        with database.transaction() as session:
            store.record(session, "test.committed", "one event")
        began = time.monotonic()
        assert await feed.changed(timeout=5.0)
        assert time.monotonic() - began < 2.0
        assert not await feed.changed(timeout=0.3), "the same change was told twice"
    finally:
        await feed.close()


def test_feed_listens_on_postgresql_and_polls_on_sqlite(database: Database) -> None:
    assert ChangeFeed(database).listens == (database.engine.dialect.name == "postgresql")

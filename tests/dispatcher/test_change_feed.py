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


async def test_a_burst_of_changes_is_told_once(database: Database) -> None:
    """Ten transactions commit before the dispatcher looks: one wake-up, not ten rounds."""
    feed = ChangeFeed(database)
    try:
        await feed.changed(timeout=0.1)
        for n in range(10):
            with database.transaction() as session:
                store.record(session, "test.burst", f"change {n}")
        time.sleep(0.2)  # every NOTIFY has arrived on the listener's socket
        assert await feed.changed(timeout=5.0)
        assert not await feed.changed(timeout=0.3), "the rest of the burst woke it again"

        with database.transaction() as session:
            store.record(session, "test.burst", "heard while a round ran")
        time.sleep(0.2)
        await feed.settle()  # a round is about to read the store: what came before is in it
        assert not await feed.changed(timeout=0.3)
    finally:
        await feed.close()

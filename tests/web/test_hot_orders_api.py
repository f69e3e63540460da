"""The hot order path tells the dispatchers at once, like every other change."""

from __future__ import annotations

from discflow.domain import Address, Priority
from discflow.store import ChangeFeed, Database, OrderLine, Principal, Role
from tests.utils.factories import make_content, make_token


async def test_an_order_placed_on_the_hot_path_is_announced(database: Database) -> None:
    make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    feed = ChangeFeed(database)
    hot = database.hot
    await hot.backend.start()
    try:
        await feed.changed(timeout=0.1)  # starts listening (PostgreSQL) / notes the newest event
        assert not await feed.changed(timeout=0.2)
        placed = await hot.place_order(
            Principal(user_id=1, name="alice", role=Role.CUSTOMER),
            [OrderLine(content, "CD-R", 1)],
            Address(name="Ada", lines=("1 Main St",), city="X", postal_code="1", country="US"),
            idempotency_key="k-feed",
            source="api",
            priority=Priority.RUSH,
        )
        assert placed is not None
        assert await feed.changed(timeout=5)
    finally:
        await feed.close()
        await hot.backend.dispose()

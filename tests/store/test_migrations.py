"""A database made by the previous schema upgrades to the newest without losing data."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from discflow import store
from discflow.store import Database, Role
from discflow.store._db import alembic_config

PREVIOUS = "0002"  # the schema discflow 0.1 shipped before sessions, mail and leases


def test_upgrade_keeps_a_populated_database(database_url: str) -> None:
    config = alembic_config(database_url)
    database = Database(database_url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, PREVIOUS)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, name, email, role, created_at) "
                "VALUES (1, 'old-customer', 'old@example.org', 'customer', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO contents (id, title, description, tags, size_bytes, sha256, volume_id,"
                " filesystems, search_text, created_at) VALUES ('cnt-OLD', 'Old Title', 'kept', "
                "'[]', 1000, :sha, 'OLD', '[]', 'old title kept', CURRENT_TIMESTAMP)"
            ),
            {"sha": "a" * 64},
        )
        connection.execute(
            text(
                "INSERT INTO orders (id, user_id, ship_to, source, created_at) VALUES "
                "('ORD-OLD', 1, :ship, 'api', CURRENT_TIMESTAMP)"
            ),
            {
                "ship": '{"name": "Ann", "lines": ["1 Main"], "city": "X", "postal_code": "1",'
                ' "country": "US", "region": null}'
            },
        )
        connection.execute(
            text(
                "INSERT INTO requests (id, order_id, position, content_id, media, copies, "
                "good_copies, failed_copies, state, reason, created_at, updated_at) VALUES "
                "('REQ-OLD', 'ORD-OLD', 0, 'cnt-OLD', 'CD-R', 2, 0, 0, 'queued', '', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO events (at, type, order_id, request_id, actor, message, data) VALUES "
                "(CURRENT_TIMESTAMP, 'request.queued', 'ORD-OLD', 'REQ-OLD', 'old', '', '{}')"
            )
        )

    database.migrate()  # what the server does on start

    admin = store.Principal(user_id=None, name="t", role=Role.ADMIN)
    with database.transaction() as session:
        order = store.get_order(session, "ORD-OLD", admin)
        assert [(r.id, r.state, r.copies) for r in order.requests] == [("REQ-OLD", "queued", 2)]
        assert store.get_content(session, "cnt-OLD").title == "Old Title"
        events = store.list_events(session, store.EventFilter(order_id="ORD-OLD"))
        assert [e.type for e in events] == ["request.queued"]
        # the new tables work on the upgraded database
        assert store.acquire_lease(session, "planner", owner="me", ttl_s=5)
        user = store.ensure_user(session, "old-customer", role=Role.CUSTOMER)
        assert user.email == "old@example.org"
    database.dispose()

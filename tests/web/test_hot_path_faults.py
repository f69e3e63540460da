"""The hot order path under a burst and under a lost connection (issue #17 item 4).

- A burst of concurrent orders from one account cannot overrun its quota: the check
  runs in the transaction that writes the order, after a lock on the account's row.
- A pooled PostgreSQL connection whose backend was terminated while it sat in the pool
  (what a server restart does to every one) does not cost a 500: the pools find it at
  checkout and connect anew. Shown with ``pg_terminate_backend``, nothing restarted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from discflow.settings import Settings
from discflow.store import Database, Order, Role
from discflow.web import create_app
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (the hot path's pool, the revocation watch), called
    concurrently from one event loop like uvicorn calls it."""
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def _order(content: str, copies: int = 1) -> dict[str, Any]:
    return {
        "requests": [{"content_id": content, "media": "CD-R", "copies": copies}],
        "ship_to": address(),
    }


def _orders_of_everyone(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_a_burst_of_orders_cannot_overrun_the_daily_quota(
    settings: Settings, database: Database
) -> None:
    limited = settings.model_copy(
        update={"run_dispatcher": False, "quota_copies_per_day": 5, "quota_open_orders": 0}
    )
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    async with served(create_app(limited, database=database)) as client:

        async def one() -> int:
            headers = {**bearer(customer), "Idempotency-Key": uuid.uuid4().hex}
            answer = await client.post("/api/v1/orders", json=_order(content), headers=headers)
            return answer.status_code

        codes = await asyncio.gather(*(one() for _ in range(16)))
    assert sorted(codes) == [201] * 5 + [429] * 11, codes
    assert _orders_of_everyone(database) == 5


async def test_an_operator_burst_is_not_limited(settings: Settings, database: Database) -> None:
    limited = settings.model_copy(
        update={"run_dispatcher": False, "quota_copies_per_day": 2, "quota_open_orders": 1}
    )
    operator = make_token(database, "olga", Role.OPERATOR)
    content = make_content(database, "Field Recordings", 100_000_000)
    async with served(create_app(limited, database=database)) as client:
        codes = await asyncio.gather(
            *(
                client.post("/api/v1/orders", json=_order(content), headers=bearer(operator))
                for _ in range(6)
            )
        )
    assert [c.status_code for c in codes] == [201] * 6


def _terminate_other_backends(database: Database) -> int:
    """End every other session on this database, as a restart would (from the server side)."""
    with database.engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
        connection.commit()
    return int(ended or 0)


async def test_a_terminated_backend_costs_no_500(settings: Settings, database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    api_only = settings.model_copy(
        update={"run_dispatcher": False, "quota_copies_per_day": 0, "quota_open_orders": 0}
    )
    customer = make_token(database, "alice")
    limited_customer = make_token(database, "bob")
    content = make_content(database, "Field Recordings", 100_000_000)
    app = create_app(api_only, database=database)
    async with served(app) as client:

        async def calls() -> list[int]:
            keyed = {**bearer(customer), "Idempotency-Key": uuid.uuid4().hex}
            placed = await client.post("/api/v1/orders", json=_order(content), headers=keyed)
            unkeyed = await client.post(
                "/api/v1/orders", json=_order(content), headers=bearer(customer)
            )
            listed = await client.get("/api/v1/orders", headers=bearer(customer))  # sync engine
            fresh = await client.get(  # a token not cached yet: the hot pool's read
                f"/api/v1/contents/{content}", headers=bearer(limited_customer)
            )
            return [placed.status_code, unkeyed.status_code, listed.status_code, fresh.status_code]

        assert await calls() == [201, 201, 200, 200]  # every pool holds connections now
        database.hot.principals.clear()
        # the engine's pool keeps this checkout's connection: it is the one that survives
        assert _terminate_other_backends(database) >= 2
        await asyncio.sleep(0.2)  # the FATAL message and the close reach the sockets
        assert await calls() == [201, 201, 200, 200]
        database.hot.principals.clear()
        assert _terminate_other_backends(database) >= 1
        await asyncio.sleep(0.2)
        assert await calls() == [201, 201, 200, 200]
    assert _orders_of_everyone(database) == 6

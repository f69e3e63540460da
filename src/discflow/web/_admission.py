"""Admission of HTTP requests that use the database, so a burst queues instead of deadlocking.

FastAPI runs each sync dependency and endpoint in a thread pool of 40, and a
request keeps its database connection between those hops. Let more requests in
than there are threads, and every thread can end up waiting for a connection
(or SQLite's write turn) held by a request that itself waits for a thread: the
server stalls until the pool's 30 s timeout. Waiting for admission here, on the
event loop, holds neither a thread nor a connection.

Invariant: ``MAX_DB_REQUESTS`` <= the thread pool's 40 tokens and <= every
engine's pool capacity (``store.make_engine``), so an admitted request always
gets a connection and, in time, a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request

__all__ = ["MAX_DB_REQUESTS", "admitted", "install_admission"]

MAX_DB_REQUESTS = 32


def install_admission(app: FastAPI, *, limit: int = MAX_DB_REQUESTS) -> None:
    app.state.db_admission = asyncio.Semaphore(limit)


async def admitted(request: Request) -> AsyncIterator[None]:
    """Held from before the request's session opens until after it commits."""
    gate: asyncio.Semaphore | None = getattr(request.app.state, "db_admission", None)
    if gate is None:
        yield
        return
    async with gate:
        yield

"""A burst of more clients than the server has threads queues; it never stalls.

Before admission control, 64 concurrent order POSTs to one ``discflow serve``
left every pool thread waiting for a connection or SQLite's write turn held by
requests that waited for a thread, and all of them sat out the 30 s pool timeout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from discflow.store import Database, Order
from tests.utils.factories import address, make_content, make_token
from tests.utils.processes import free_port, started

pytestmark = pytest.mark.slow

CLIENTS = 64


async def _burst(base: str, token: str, content: str) -> list[int]:
    limits = httpx.Limits(max_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "requests": [{"content_id": content, "media": "CD-R", "copies": 1}],
        "ship_to": address(),
    }
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:

        async def client_places_two() -> list[int]:
            codes = []
            for _ in range(2):
                # well under the 30 s a stalled pool would take to time out
                response = await client.post("/api/v1/orders", json=body, timeout=25)
                codes.append(response.status_code)
            return codes

        results = await asyncio.gather(*(client_places_two() for _ in range(CLIENTS)))
    return [code for codes in results for code in codes]


def test_burst_of_64_clients_is_served_without_stalling(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    token = make_token(database, "burst")
    content = make_content(database, "Burst", 100_000_000)
    env = {
        "DISCFLOW_DATA_DIR": str(tmp_path / "data"),
        "DISCFLOW_DATABASE_URL": database_url,
        "DISCFLOW_RUN_DISPATCHER": "0",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--no-access-log"]
    with started(args, env, ready_url=f"{base}/api/v1/health", log=tmp_path / "serve.log"):
        began = time.monotonic()
        codes = asyncio.run(_burst(base, token, content))
        took = time.monotonic() - began
    assert codes == [201] * (2 * CLIENTS)
    assert took < 25
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2 * CLIENTS
    database.dispose()

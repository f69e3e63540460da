"""A 2xx answer means the change is stored: the transaction commits before the
response leaves. (Found by the fault campaign: a server killed between its
``201`` and the commit lost a whole order the client had been told was placed.)
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from starlette.types import Message, Receive, Scope, Send

from discflow.settings import Settings
from discflow.store import Database, Order
from discflow.web import create_app
from tests.utils.factories import address, make_content, make_token


async def test_order_is_committed_before_the_201_is_sent(
    settings: Settings, database: Database
) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    seen: list[str] = []
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)

    def stored_orders() -> int:
        # another connection sees only what was committed
        with database.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Order)) or 0)

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(f"{stored_orders()} stored at answer {message['status']}")
            await send(message)

        await app(scope, receive, send_and_note)

    transport = httpx.ASGITransport(app=watched)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/api/v1/orders",
            json={
                "requests": [{"content_id": content, "media": "CD-R", "copies": 1}],
                "ship_to": address(),
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    assert seen == ["1 stored at answer 201"], seen

"""The live system runs the scheduler's late binding (issue 15), end to end.

Server (``discflow serve``), dispatcher (``discflow dispatch``) and one ``sim``
publisher agent run as separate processes on loopback. The publisher has one drive and takes 30
planned seconds per disc (3 s real: ``time_scale`` 0.1), longer than the
planner's 10 s binding horizon, so the dispatcher sends it one disc at a time.
A 1-copy order placed while a 4-copy order burns therefore finishes first;
with whole-request jobs (first-available) it would wait for all four. And the
publisher, loaded with 5 blanks for the 5 discs, gets a reload notice while
it still has blanks (the planned work would use them up before a reload
could land), not when it has run dry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Event, Role
from tests.utils.factories import address
from tests.utils.processes import free_port, started
from tests.utils.system import ingest_contents, server_env

pytestmark = pytest.mark.slow

PUBLISHER = DeviceSpec(
    "sim-one",
    "sim",
    1,
    {"CD-R": MediaSpec(5, 7_800_000, 30.0, 2)},
    options={"time_scale": 0.1, "seed": 3},
)


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str], Database]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(data=tmp_path / "data", database_url=database_url, labels=tmp_path / "l")
    database = Database(database_url)
    database.migrate()
    fleet = Fleet(database, tmp_path / "agents", server_url=base)
    with database.transaction() as session:
        token = store.create_token(session, store.ensure_user(session, "cara", role=Role.CUSTOMER))
    with started(
        ["serve", "--port", str(port)],
        env,
        ready_url=f"{base}/api/v1/health",
        log=tmp_path / "serve.log",
    ):
        fleet.add(PUBLISHER)
        fleet.start(PUBLISHER.name)
        try:
            fleet.wait_ready()
            with started(
                ["dispatch", "--name", "d1"],
                env,
                ready_url=f"{base}/api/v1/health",
                log=tmp_path / "dispatch.log",
            ):
                yield base, {"Authorization": f"Bearer {token}"}, database
        finally:
            fleet.stop_all()
            database.dispose()


def _order(base: str, headers: dict[str, str], content_id: str, copies: int) -> str:
    response = httpx.post(
        f"{base}/api/v1/orders",
        headers=headers,
        json={
            "requests": [{"content_id": content_id, "media": "CD-R", "copies": copies}],
            "ship_to": address(),
        },
    )
    assert response.status_code == 201, response.text
    request_id: str = response.json()["requests"][0]["id"]
    return request_id


def _events(database: Database, kind: str) -> dict[str, int]:
    """Request id -> id of its first ``kind`` event in the task log (ids grow with time)."""
    with database.transaction() as session:
        rows = session.execute(
            select(Event.request_id, Event.id).where(Event.type == kind).order_by(Event.id)
        ).all()
    out: dict[str, int] = {}
    for request_id, event_id in rows:
        if request_id is not None:
            out.setdefault(request_id, event_id)
    return out


def _wait_for(database: Database, kind: str, request_ids: set[str]) -> dict[str, int]:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        seen = _events(database, kind)
        if request_ids <= set(seen):
            return seen
        time.sleep(0.3)
    raise AssertionError(f"no {kind} for {request_ids} in 45 s")


def test_short_order_behind_a_long_one_finishes_first_and_blanks_are_asked_for_early(
    live: tuple[str, dict[str, str], Database], tmp_path: Path
) -> None:
    base, headers, database = live
    blobs = BlobStore(tmp_path / "data" / "archive")
    long_content, short_content = ingest_contents(
        database, blobs, tmp_path / "t", sizes=[300_000, 200_000], seed=9
    )
    long_id = _order(base, headers, long_content.id, 4)
    _wait_for(database, "request.burning", {long_id})
    short_id = _order(base, headers, short_content.id, 1)
    done = _wait_for(database, "request.done", {long_id, short_id})
    assert done[short_id] < done[long_id]
    # The planner asked for blanks while the publisher still had some: the
    # floor words it as a low-media notice, raised before the last disc was made.
    with database.transaction() as session:
        asked = session.execute(
            select(Event.id, Event.message)
            .where(Event.type.like("notice.media%"))
            .order_by(Event.id)
        ).all()
    assert asked, "no media notice at all"
    first_id, first_message = asked[0]
    assert PUBLISHER.name in first_message and "CD-R" in first_message
    assert "out of" not in first_message, asked
    assert first_id < done[long_id]

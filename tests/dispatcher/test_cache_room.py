"""A job whose content does not fit the device's cache: the dispatcher evicts
what no job there needs and goes on. (Found by the fault campaign: the upload
was refused with 507 and retried every 10 s forever; the request never moved.)
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.dispatcher import Dispatcher, DispatcherSettings
from discflow.domain import RequestState
from discflow.store import Database, Job
from tests.utils.factories import place_request
from tests.utils.system import agent_token, ingest_contents


async def test_full_cache_is_made_room_in(tmp_path: Path, database: Database) -> None:
    blobs = BlobStore(tmp_path / "archive")
    old, new = ingest_contents(database, blobs, tmp_path / "t", sizes=[300_000, 300_000], seed=2)
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    spec = DeviceSpec(
        "img", "image", 1, {"CD-R": MediaSpec(10, 7_800_000, 0.0, 2)}, cache_bytes=700_000
    )
    agent = fleet.add(spec)
    fleet.start("img")
    try:
        fleet.wait_ready()
        headers = {"Authorization": f"Bearer {agent_token(database, 'img')}"}
        put = httpx.put(
            f"{agent.url}/v1/cache/{old.sha256}",
            content=blobs.path_of(old.sha256).read_bytes(),
            headers=headers,
        )
        assert put.status_code == 201, put.text
        with database.transaction() as session:
            request = place_request(session, new.id, 1)
            store.transition_request(session, request, RequestState.ASSIGNED)
            settings = DispatcherSettings(data_dir=tmp_path / "data")
            dispatcher = Dispatcher(database, blobs, settings, owner="d1")
            job = store.create_job(session, request, device="img", copies=1, owner="d1", lease_s=30)
            job_id = job.id
            device = store.get_device(session, "img")
            device.availability = "online"
            device.last_seen_at = store.utcnow()
        dispatcher.pusher.refresh()
        dispatcher.pusher.kick()
        deadline = time.monotonic() + 30
        while True:
            with database.transaction() as session:
                row = session.get(Job, job_id)
                assert row is not None
                state = row.state
            if state != "pending" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        await dispatcher.close()
        assert state in ("queued", "running", "done"), state
        cached = httpx.get(f"{agent.url}/v1/cache", headers=headers).json()
        assert [e["sha256"] for e in cached] == [new.sha256]
    finally:
        fleet.stop_all()

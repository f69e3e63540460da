"""A device declared offline comes back: the discs it made for the jobs it lost
are counted, not burned again. (Found by the fault campaign: an image writer
killed right after burning, before the dispatcher's next poll, was declared
lost; its two good discs were never recorded and the request burned two more.)
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.dispatcher import Dispatcher, DispatcherSettings
from discflow.domain import DispatchReason, DispatchState, RequestState
from discflow.store import CopyCounts, Database, Job, Request
from tests.utils.factories import place_request
from tests.utils.system import burn_behind_the_dispatchers_back, ingest_contents


async def test_discs_of_a_lost_job_are_counted_when_the_device_returns(
    tmp_path: Path, database: Database
) -> None:
    blobs = BlobStore(tmp_path / "archive")
    content = ingest_contents(database, blobs, tmp_path / "trees", sizes=[100_000], seed=1)[0]
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    agent = fleet.add(DeviceSpec("img", "image", 1, {"CD-R": MediaSpec(10, 7_800_000, 0.0, 2)}))
    with database.transaction() as session:
        request = place_request(session, content.id, 2)
        store.transition_request(session, request, RequestState.ASSIGNED)
        job = store.create_job(session, request, device="img", copies=2, owner="d0", lease_s=5)
        request_id, job_id = request.id, job.id
    fleet.start("img")
    try:
        fleet.wait_ready()
        # the agent burns both discs, then goes silent before the dispatcher hears of it
        burn_behind_the_dispatchers_back(
            database, blobs, agent.url, device="img", job_id=job_id, sha256=content.sha256, copies=2
        )
        with database.transaction() as session:
            row = session.get(Job, job_id)
            assert row is not None
            store.update_job(
                session,
                row,
                state=DispatchState.LOST,
                counts=CopyCounts(0, 0, False, False),
                error="img offline for over 4 s",
                reason=DispatchReason.SERVICE_OFF_LINE,
            )
            settled = session.get(Request, request_id)
            assert settled is not None
            store.settle_request(session, settled, max_failed_discs=5)
            assert settled.state == "queued"
            # ... and now it reports again
            device = store.get_device(session, "img")
            device.availability = "online"
            device.last_seen_at = store.utcnow()

        dispatcher = Dispatcher(database, blobs, DispatcherSettings(data_dir=tmp_path / "data"))
        await dispatcher.tick()
        await dispatcher.close()

        with database.transaction() as session:
            request = session.get(Request, request_id)
            assert request is not None
            jobs = list(session.scalars(select(Job).where(Job.request_id == request_id)))
            assert [(j.id, j.state, j.good_copies) for j in jobs] == [(job_id, "done", 2)]
            assert jobs[0].reason == DispatchReason.DEVICE_RETURNED
            assert (request.state, request.good_copies) == ("done", 2)
        discs = sorted((fleet.root / "img" / "discs").rglob("*.iso"))
        assert len(discs) == 2
    finally:
        fleet.stop_all()

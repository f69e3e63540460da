"""A cancelled request's job that the agent had already finished, or never heard
of, is settled once, not asked to cancel again every round. (Before: the agent's
409 "already done; nothing to cancel" was logged and retried forever, and the
discs it had made were never counted.)"""

from __future__ import annotations

import time
from pathlib import Path

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.dispatcher import Dispatcher, DispatcherSettings
from discflow.domain import RequestState
from discflow.store import Database, Job, Principal, Request, Role
from tests.utils.factories import place_request
from tests.utils.system import burn_behind_the_dispatchers_back, ingest_contents


def _cancel_order(database: Database, request_id: str) -> None:
    with database.transaction() as session:
        request = session.get(Request, request_id)
        assert request is not None
        user = store.ensure_user(session, "cara", role=Role.CUSTOMER)
        principal = Principal(user_id=user.id, name=user.name, role=Role.CUSTOMER)
        store.cancel_order(session, request.order_id, principal)


async def test_a_job_the_agent_finished_before_the_cancel_is_recorded_as_done(
    tmp_path: Path, database: Database
) -> None:
    blobs = BlobStore(tmp_path / "archive")
    content = ingest_contents(database, blobs, tmp_path / "trees", sizes=[100_000], seed=2)[0]
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    agent = fleet.add(DeviceSpec("img", "image", 1, {"CD-R": MediaSpec(10, 7_800_000, 0.0, 2)}))
    with database.transaction() as session:
        request = place_request(session, content.id, 2)
        store.transition_request(session, request, RequestState.ASSIGNED)
        # the job was pushed, but its dispatcher died before it recorded the agent's yes
        job = store.create_job(session, request, device="img", copies=2, owner="d0", lease_s=0.1)
        request_id, job_id = request.id, job.id
    fleet.start("img")
    dispatcher = Dispatcher(database, blobs, DispatcherSettings(data_dir=tmp_path / "data"))
    try:
        fleet.wait_ready()
        burn_behind_the_dispatchers_back(
            database, blobs, agent.url, device="img", job_id=job_id, sha256=content.sha256, copies=2
        )
        _cancel_order(database, request_id)
        time.sleep(0.2)  # d0's lease runs out: this dispatcher takes the job over

        await dispatcher.tick()

        with database.transaction() as session:
            row = session.get(Job, job_id)
            assert row is not None
            assert (row.state, row.good_copies) == ("done", 2)  # the discs exist: counted
            assert store.withdrawn_jobs(session, owner=dispatcher.owner) == []
            cancelled = session.get(Request, request_id)
            assert cancelled is not None
            assert (cancelled.state, cancelled.good_copies) == ("cancelled", 2)
    finally:
        await dispatcher.close()
        fleet.stop_all()


async def test_a_job_the_agent_never_heard_of_is_cancelled_here(
    tmp_path: Path, database: Database
) -> None:
    blobs = BlobStore(tmp_path / "archive")
    content = ingest_contents(database, blobs, tmp_path / "trees", sizes=[100_000], seed=3)[0]
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    fleet.add(DeviceSpec("img", "image", 1, {"CD-R": MediaSpec(10, 7_800_000, 0.0, 2)}))
    with database.transaction() as session:
        request = place_request(session, content.id, 1)
        store.transition_request(session, request, RequestState.ASSIGNED)
        job = store.create_job(session, request, device="img", copies=1, owner="d0", lease_s=0.1)
        request_id, job_id = request.id, job.id
    fleet.start("img")
    dispatcher = Dispatcher(database, blobs, DispatcherSettings(data_dir=tmp_path / "data"))
    try:
        fleet.wait_ready()
        _cancel_order(database, request_id)
        time.sleep(0.2)
        await dispatcher.tick()
        with database.transaction() as session:
            row = session.get(Job, job_id)
            assert row is not None
            assert (row.state, row.good_copies) == ("cancelled", 0)
            assert store.withdrawn_jobs(session, owner=dispatcher.owner) == []
    finally:
        await dispatcher.close()
        fleet.stop_all()

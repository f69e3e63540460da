"""Moving a job that waits on a real agent: the agent drops it, the server moves it.

A real agent app (the ``sim`` driver, one drive, 30 s a disc) listens on a
loopback port; job A burns, job B waits in its queue. Moving B from the
console's service cancels B on the agent first, then records the move.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from discflow import store
from discflow.agent import create_agent_app, parse_config
from discflow.domain import DispatchState
from discflow.errors import IllegalTransition
from discflow.store import Database, Job
from discflow.web.pages._job_actions import move_job
from tests.utils.factories import make_content
from tests.utils.processes import free_port
from tests.web.pages.floor_scene import heartbeat, place

TOKEN = "agent-token-for-moves"


@pytest.fixture
def agent_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    config = parse_config(
        {
            "name": "sim-1",
            "driver": "sim",
            "listen": f"127.0.0.1:{port}",
            "token": TOKEN,
            "cache_dir": str(tmp_path / "cache"),
            "cache_bytes": 50_000_000,
            "drives": 1,
            "poll_s": 0.02,
            "media": {"CD-R": {"loaded": 20, "write_Bps": 1_000_000, "overhead_s": 30}},
            "driver_options": {"time_scale": 1.0},
        },
        source="test.toml",
    )
    server = uvicorn.Server(
        uvicorn.Config(create_agent_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def _agent_job(database: Database, request_id: str, url: str, sha: str) -> str:
    """A job row and the same job on the agent (as the pusher would send it)."""
    with database.transaction() as session:
        request = store.get_request(session, request_id)
        job = store.create_job(
            session, request, device="sim-1", copies=request.copies, owner="t", lease_s=3600
        )
        job_id = job.id
    body = {"job_id": job_id, "content_sha256": sha, "media": "CD-R", "copies": 1}
    answer = httpx.post(f"{url}/v1/jobs", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code in (200, 201, 202), answer.text
    with database.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        store.accept_job(row)
    return job_id


def test_a_queued_job_is_dropped_by_its_agent_and_moved(database: Database, agent_url: str) -> None:
    data = b"x" * 100_000
    sha = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.put(f"{agent_url}/v1/cache/{sha}", content=data, headers=auth).status_code == 201
    content = make_content(database, "Dawn Chorus", len(data))
    heartbeat(database, "pub-2", media={"CD-R": 50})
    with database.transaction() as session:
        store.register_device(
            session, name="sim-1", driver="sim", address=agent_url, actor="t", agent_token=TOKEN
        )
    burning = _agent_job(database, place(database, "cara", content, copies=1)[1], agent_url, sha)
    waiting = _agent_job(database, place(database, "cara", content, copies=1)[1], agent_url, sha)
    deadline = time.monotonic() + 10
    while httpx.get(f"{agent_url}/v1/jobs/{burning}", headers=auth).json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert httpx.get(f"{agent_url}/v1/jobs/{waiting}", headers=auth).json()["state"] == "queued"

    new_id = asyncio.run(move_job(database, job_id=waiting, target="pub-2", actor="otto"))

    assert httpx.get(f"{agent_url}/v1/jobs/{waiting}", headers=auth).json()["state"] == "cancelled"
    with database.transaction() as session:
        old = session.get(Job, waiting)
        assert old is not None and old.state == DispatchState.CANCELLED
        moved = session.get(Job, new_id)
        assert moved is not None and (moved.device, moved.state) == ("pub-2", "pending")
        events = session.scalars(select(store.Event).where(store.Event.type == "job.moved"))
        assert [e.actor for e in events] == ["otto"]
    # a job that burns stays where it is
    with database.transaction() as session:
        row = session.get(Job, burning)
        assert row is not None
        store.update_job(
            session, row, state=DispatchState.RUNNING, counts=store.CopyCounts(0, 0, True, False)
        )
    with pytest.raises(IllegalTransition):
        asyncio.run(move_job(database, job_id=burning, target="pub-2", actor="otto"))


def test_failure_policy_stops_the_job_on_its_agent_and_keeps_the_agents_count(
    database: Database, agent_url: str
) -> None:
    from discflow.dispatcher import AgentClient
    from discflow.dispatcher._floor import Floor
    from discflow.dispatcher._pusher import DeviceLink
    from discflow.dispatcher._settings import DispatcherSettings
    from tests.web.pages.floor_scene import POLICY

    data = b"y" * 100_000
    sha = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.put(f"{agent_url}/v1/cache/{sha}", content=data, headers=auth).status_code == 201
    content = make_content(database, "Dawn Chorus", len(data))
    with database.transaction() as session:
        store.register_device(
            session, name="sim-1", driver="sim", address=agent_url, actor="t", agent_token=TOKEN
        )
    heartbeat(database, "sim-1", driver="sim", media={"CD-R": 20})  # it reports in
    heartbeat(database, "pub-2", media={"CD-R": 50})
    _, request_id = place(database, "cara", content, copies=1)
    job_id = _agent_job(database, request_id, agent_url, sha)
    with database.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        # as the follow loop records a drive's rejects (the agent's own count is checked below)
        row.failed_copies = 3
    floor = Floor(database, DispatcherSettings(heartbeat_offline_s=3600), POLICY)
    floor.watch()
    assert floor.to_stop == {job_id: "sim-1"}

    async def stop() -> None:
        client = AgentClient(name="sim-1", base_url=agent_url, token=TOKEN)
        try:
            link = DeviceLink(client=client, token_hash="unused here", address=agent_url)
            await floor.stop_failing_jobs({"sim-1": link})
        finally:
            await client.close()

    asyncio.run(stop())
    on_agent = httpx.get(f"{agent_url}/v1/jobs/{job_id}", headers=auth).json()
    assert on_agent["state"] == "cancelled"
    assert floor.to_stop == {}
    with database.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None and row.state == DispatchState.CANCELLED
        assert row.error.startswith("stopped after") and row.reason == "aborted-by-system"
        good = sum(1 for c in on_agent["copies"] if c["state"] == "good")
        assert row.good_copies == good  # the agent's count, not the server's guess
        assert store.get_device(session, "sim-1").paused
        assert store.get_request(session, request_id).state == "queued"  # to burn elsewhere

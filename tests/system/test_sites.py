"""Two dispatchers, two sites, one database: both sites plan, nothing is lost or doubled,
and a killed dispatcher's site is taken over once its lease runs out (issue 17 item 5).

Server (``discflow serve``), dispatchers d1 and d2 (``discflow dispatch``) and two
``sim`` publishers, one per site, run as separate processes on loopback. With no
``--sites`` each dispatcher takes its share (one of the two sites). The holder of
one site is SIGKILLed while work is still coming in; the other takes that site's
lease once it expires (``DISCFLOW_LEASE_S=5``) and every request ends done with
exactly its copies, counted from the jobs table.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Job, Lease, Request, Role
from tests.utils.factories import address
from tests.utils.processes import Service, free_port, started
from tests.utils.system import ingest_contents, server_env

pytestmark = pytest.mark.slow

SITES = {"east": "sim-east", "west": "sim-west"}


def _publisher(name: str, seed: int) -> DeviceSpec:
    return DeviceSpec(
        name,
        "sim",
        2,
        {"CD-R": MediaSpec(500, 7_800_000, 5.0, 2)},
        options={"time_scale": 0.02, "seed": seed},
    )


def _place(base: str, headers: dict[str, str], contents: list[str], orders: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(orders):
        lines = [
            {"content_id": rng.choice(contents), "media": "CD-R", "copies": rng.randint(1, 3)}
            for _ in range(3)
        ]
        body = {"requests": lines, "ship_to": address()}
        response = httpx.post(f"{base}/api/v1/orders", headers=headers, json=body, timeout=30)
        assert response.status_code == 201, response.text


def _site_holders(database: Database) -> dict[str, str]:
    """Site -> the dispatcher holding its planner lease, unexpired."""
    with database.transaction() as session:
        rows = session.scalars(select(Lease).where(Lease.name.startswith("planner:"))).all()
        now = store.utcnow()
        return {r.name.removeprefix("planner:"): r.owner for r in rows if r.expires_at > now}


def _wait(what: str, check: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _jobs_per_device(database: Database) -> Counter[str]:
    with database.transaction() as session:
        return Counter(session.scalars(select(Job.device)))


def test_two_site_planners_share_the_floor_and_take_over_a_dead_ones_site(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(data=tmp_path / "data", database_url=database_url, labels=tmp_path / "l")
    database = Database(database_url)
    database.migrate()
    blobs = BlobStore(tmp_path / "data" / "archive")
    contents = [
        c.id
        for c in ingest_contents(
            database, blobs, tmp_path / "trees", sizes=[150_000, 250_000, 200_000], seed=5
        )
    ]
    fleet = Fleet(database, tmp_path / "agents", server_url=base)
    with database.transaction() as session:
        token = store.create_token(session, store.ensure_user(session, "cara", role=Role.CUSTOMER))
    headers = {"Authorization": f"Bearer {token}"}
    health = f"{base}/api/v1/health"
    dispatchers = {
        name: Service(["dispatch", "--name", name], env, log=tmp_path / f"{name}.log")
        for name in ("d1", "d2")
    }
    with started(["serve", "--port", str(port)], env, ready_url=health, log=tmp_path / "s.log"):
        for seed, (site, device) in enumerate(SITES.items()):
            fleet.add(_publisher(device, seed))
            with database.transaction() as session:
                store.move_device(session, device, site=site, actor="test")
            fleet.start(device)
        try:
            fleet.wait_ready()
            for service in dispatchers.values():
                service.start()
            # each takes its share: one site apiece, in a few rounds
            _wait("one site each", lambda: sorted(_site_holders(database).values()) == ["d1", "d2"])
            _place(base, headers, contents, orders=6, seed=1)
            _wait(
                "both sites planned", lambda: set(_jobs_per_device(database)) == set(SITES.values())
            )

            holders = _site_holders(database)
            victim_site = "east"
            victim, survivor = holders[victim_site], holders["west"]
            dispatchers[victim].kill()
            _wait(
                "the survivor holds both sites",
                lambda: _site_holders(database) == {"east": survivor, "west": survivor},
                timeout_s=30,
            )
            taken_over_at = store.utcnow()
            _place(base, headers, contents, orders=6, seed=2)
            with database.transaction() as session:
                placed = {r.id: r.copies for r in session.scalars(select(Request))}

            def all_final() -> bool:
                with database.transaction() as session:
                    states = Counter(session.scalars(select(Request.state)))
                return states["done"] + states["failed"] + states["cancelled"] == len(placed)

            _wait("every request final", all_final, timeout_s=180)
        finally:
            for service in dispatchers.values():
                service.stop()
            fleet.stop_all()

    with database.transaction() as session:
        states = {row[0]: row[1] for row in session.execute(select(Request.id, Request.state))}
        jobs = session.scalars(select(Job)).all()
    database.dispose()
    good: Counter[str] = Counter()
    for job in jobs:
        good[job.request_id] += job.good_copies
    assert all(state == "done" for state in states.values()), Counter(states.values())
    assert {r: good[r] for r in placed} == placed  # nothing lost, nothing doubled
    # the dead dispatcher's site is planned again: by the survivor, the only one left
    after = [j for j in jobs if j.device == SITES[victim_site] and j.created_at > taken_over_at]
    assert after, "no job was planned on the victim's site after the takeover"

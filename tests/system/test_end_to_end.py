"""Order to verified disc, end to end, with every part a separate process.

Server (API only), dispatcher and three agents (two ``image`` writers, one
``sim``) run as their own processes on loopback; 50 requests over 8 contents
and 2 media types go in over the API. Variants kill the dispatcher or an agent
halfway (SIGKILL) and check that nothing is lost or burned twice.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Role
from tests.utils.factories import address
from tests.utils.processes import DISCFLOW, free_port, started, stop
from tests.utils.system import agent_token, ingest_contents, server_env

pytestmark = pytest.mark.slow

DEVICES = (
    # img-a alone can burn every DVD-R copy (41): when sim-c is killed before it
    # reports one, img-a must not run dry and leave a request waiting for a reload
    DeviceSpec(
        "img-a",
        "image",
        2,
        {"CD-R": MediaSpec(80, 7_800_000, 0.0, 5), "DVD-R": MediaSpec(60, 21_600_000, 0.0, 5)},
    ),
    DeviceSpec("img-b", "image", 1, {"CD-R": MediaSpec(60, 5_000_000, 0.0, 5)}),
    DeviceSpec(
        "sim-c",
        "sim",
        2,
        {"CD-R": MediaSpec(80, 7_800_000, 6.0, 5), "DVD-R": MediaSpec(40, 21_600_000, 8.0, 5)},
        options={"time_scale": 0.1, "seed": 7},
    ),
)
LIFECYCLE = [
    "request.queued",
    "request.assigned",
    "request.burning",
    "request.verifying",
    "request.done",
]


@dataclass
class World:
    base: str
    env: dict[str, str]
    database: Database
    blobs: BlobStore
    fleet: Fleet
    headers: dict[str, str]
    operator: dict[str, str]
    tmp: Path


def _contents(world: World) -> list[tuple[str, str]]:
    sizes = [200_000 + index * 150_000 for index in range(8)]
    made = ingest_contents(world.database, world.blobs, world.tmp, sizes=sizes, seed=5)
    return [(c.id, c.sha256) for c in made]


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(data=data, database_url=database_url, labels=tmp_path / "labels")
    database = Database(database_url)
    database.migrate()
    fleet = Fleet(database, tmp_path / "agents", server_url=base)
    with database.transaction() as session:
        customer = store.create_token(
            session, store.ensure_user(session, "cara", role=Role.CUSTOMER)
        )
        operator = store.create_token(
            session, store.ensure_user(session, "otto", role=Role.OPERATOR)
        )
    with started(
        ["serve", "--port", str(port)],
        env,
        ready_url=f"{base}/api/v1/health",
        log=tmp_path / "serve.log",
    ):
        for spec in DEVICES:
            fleet.add(spec)
            fleet.start(spec.name)
        try:
            fleet.wait_ready()
            yield World(
                base,
                env,
                database,
                BlobStore(data / "archive"),
                fleet,
                {"Authorization": f"Bearer {customer}"},
                {"Authorization": f"Bearer {operator}"},
                tmp_path,
            )
        finally:
            fleet.stop_all()
            database.dispose()


def _place_orders(world: World, contents: list[tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """50 requests in 10 orders; returns request id -> (content sha256, copies)."""
    rng = random.Random(11)
    placed: dict[str, tuple[str, int]] = {}
    sha_of = dict(contents)
    for _ in range(10):
        lines = [
            {
                "content_id": rng.choice(contents)[0],
                "media": rng.choice(["CD-R", "DVD-R"]),
                "copies": rng.randint(1, 3),
            }
            for _ in range(5)
        ]
        response = httpx.post(
            f"{world.base}/api/v1/orders",
            headers=world.headers,
            json={"requests": lines, "ship_to": address()},
        )
        assert response.status_code == 201, response.text
        for request in response.json()["requests"]:
            placed[request["id"]] = (sha_of[request["content_id"]], request["copies"])
    return placed


def _requests(world: World) -> dict[str, dict[str, Any]]:
    orders = httpx.get(
        f"{world.base}/api/v1/orders", params={"limit": 500}, headers=world.operator
    ).json()
    return {r["id"]: r for o in orders for r in o["requests"]}


def _wait_all_final(world: World, *, timeout_s: float = 240.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        requests = _requests(world)
        if all(r["state"] in ("done", "failed", "cancelled") for r in requests.values()):
            return requests
        time.sleep(0.5)
    states = Counter(r["state"] for r in _requests(world).values())
    raise AssertionError(f"requests not finished after {timeout_s} s: {dict(states)}")


def _wait_some_done(world: World, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if sum(r["good_copies"] for r in _requests(world).values()) >= count:
            return
        time.sleep(0.2)
    raise AssertionError("no progress before the fault was due")


def _check(world: World, placed: dict[str, tuple[str, int]], *, dead: set[str]) -> None:
    requests = _wait_all_final(world)
    assert set(requests) == set(placed), "a request was lost"
    assert all(r["state"] == "done" for r in requests.values()), requests

    with world.database.transaction() as session:
        jobs = list(session.scalars(store.select_jobs()))
        job_request = {j.id: j.request_id for j in jobs}
        good_by_device: Counter[str] = Counter()
        good_by_request: Counter[str] = Counter()
        for job in jobs:
            good_by_device[job.device] += job.good_copies
            good_by_request[job.request_id] += job.good_copies
    for request_id, (_, copies) in placed.items():
        assert requests[request_id]["good_copies"] == copies
        assert good_by_request[request_id] == copies, f"{request_id} has a disc burned twice"

    # every image file the image writers made is the archive's bytes, one per good copy
    files_by_request: Counter[str] = Counter()
    for spec in DEVICES:
        if spec.driver != "image":
            continue
        for image in (world.fleet.root / spec.name / "discs").rglob("*.iso"):
            request_id = job_request["-".join(image.name.split("-")[:2])]
            digest = hashlib.sha256(image.read_bytes()).hexdigest()
            assert digest == placed[request_id][0], f"{image} differs from the archive"
            files_by_request[request_id] += 1
    image_good = Counter[str]()
    with world.database.transaction() as session:
        for job in session.scalars(store.select_jobs()):
            if job.device in ("img-a", "img-b"):
                image_good[job.request_id] += job.good_copies
    assert files_by_request == image_good

    # the task log shows each request's lifecycle in order
    for request_id in placed:
        log = httpx.get(
            f"{world.base}/api/v1/events", params={"request_id": request_id}, headers=world.operator
        ).json()
        types = [e["type"] for e in log if e["type"].startswith("request.")]
        assert types[0] == "request.queued" and types[-1] == "request.done", types
        positions = [types.index(step) for step in LIFECYCLE]
        assert positions == sorted(positions), types

    # per device: loaded - used = remaining, where used counts good and failed discs
    for spec in DEVICES:
        if spec.name in dead:
            continue
        agent = world.fleet.agents[spec.name]
        status = httpx.get(
            f"{agent.url}/v1/status",
            headers={"Authorization": f"Bearer {agent_token(world.database, spec.name)}"},
        ).json()
        used_good = 0
        for media in status["media"]:
            assert (
                media["loaded_total"] - media["used_good"] - media["used_failed"] == media["loaded"]
            ), (spec.name, media)
            used_good += media["used_good"]
        assert used_good == good_by_device[spec.name], spec.name

    # exactly one mailing label per request (claim 7), printed once it was done
    labels_dir = world.tmp / "labels"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        labels = sorted(p.name for p in labels_dir.glob("*.pdf")) if labels_dir.exists() else []
        if len(labels) >= len(placed):
            break
        time.sleep(0.3)
    per_request = Counter(re.search(r"REQ-[0-9A-Z]+", name).group(0) for name in labels)  # type: ignore[union-attr]
    assert per_request == Counter(dict.fromkeys(placed, 1)), labels


def _dispatcher(world: World, name: str = "d1") -> Any:
    log = world.tmp / "dispatch.log"
    return started(
        ["dispatch", "--name", name], world.env, ready_url=f"{world.base}/api/v1/health", log=log
    )


def test_fifty_requests_end_to_end(world: World) -> None:
    placed = _place_orders(world, _contents(world))
    first_order = httpx.get(f"{world.base}/api/v1/orders", headers=world.operator).json()[-1]
    follower = subprocess.Popen(
        [*DISCFLOW, "order", "show", first_order["id"], "--follow", "--poll-s", "0.3"],
        env={**os.environ, **world.env, "COLUMNS": "160"},
        stdout=subprocess.PIPE,
        text=True,
    )
    with _dispatcher(world):
        _check(world, placed, dead=set())
    # the live view ended by itself when the order was done, and said so
    out, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0, out
    assert f"order {first_order['id']}: done" in out


def test_dispatcher_killed_midway_loses_nothing(world: World) -> None:
    placed = _place_orders(world, _contents(world))
    total = sum(copies for _, copies in placed.values())
    with _dispatcher(world) as first:
        _wait_some_done(world, total // 3)
        stop(first, kill=True)
    with _dispatcher(world):
        _check(world, placed, dead=set())


def test_agent_killed_midway_its_work_moves(world: World) -> None:
    placed = _place_orders(world, _contents(world))
    total = sum(copies for _, copies in placed.values())
    with _dispatcher(world):
        _wait_some_done(world, total // 4)
        world.fleet.kill("sim-c")
        _check(world, placed, dead={"sim-c"})
    by_device: defaultdict[str, int] = defaultdict(int)
    with world.database.transaction() as session:
        for job in session.scalars(store.select_jobs()):
            by_device[job.device] += job.good_copies
    assert by_device["img-a"] + by_device["img-b"] > 0


def test_two_dispatchers_one_killed_nothing_lost_or_doubled(world: World) -> None:
    placed = _place_orders(world, _contents(world))
    total = sum(copies for _, copies in placed.values())
    with _dispatcher(world, "d1") as first, _dispatcher(world, "d2"):
        _wait_some_done(world, total // 3)
        stop(first, kill=True)
        _check(world, placed, dead=set())

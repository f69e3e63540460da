"""``discflow serve --workers 2``: a pool of stateless API workers on one database.

Whichever worker answers, an ``Idempotency-Key`` still yields one order, a token
made by one worker's request works in the other, ``/metrics`` sums the workers,
and the pool runs the dispatcher exactly once.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, multiprocess
from sqlalchemy import func, select, text

from discflow.store import Database, Order, Role
from tests.utils.factories import address, make_content, make_token
from tests.utils.processes import free_port, started

pytestmark = pytest.mark.slow


@dataclass(frozen=True, slots=True)
class Pool:
    base: str
    database: Database
    metrics_dir: Path
    pid: int
    customer: str
    operator: str
    content_id: str


@pytest.fixture
def pool(tmp_path: Path, database_url: str) -> Iterator[Pool]:
    database = Database(database_url)
    database.migrate()
    customer = make_token(database, "ada")
    operator = make_token(database, "olga", Role.OPERATOR)
    content_id = make_content(database, "Pool Test", 200_000_000)
    data_dir = tmp_path / "data"
    env = {
        "DISCFLOW_DATA_DIR": str(data_dir),
        "DISCFLOW_DATABASE_URL": database_url,
        "DISCFLOW_METRICS_PUBLIC": "1",  # the scrape below goes without a token
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    with started(args, env, ready_url=f"{base}/api/v1/health", log=tmp_path / "serve.log") as proc:
        yield Pool(
            base, database, data_dir / "prometheus", proc.pid, customer, operator, content_id
        )
    database.dispose()


def _fresh(pool: Pool, method: str, path: str, **kwargs: Any) -> httpx.Response:
    # a new connection each time, so the kernel hands it to either worker
    with httpx.Client(base_url=pool.base, timeout=30) as client:
        return client.request(method, path, **kwargs)


def _children(pid: int) -> list[str]:
    found = []
    for task in Path("/proc").glob("[0-9]*"):
        try:
            if (task / "stat").read_text().split(") ")[1].split()[1] == str(pid):
                found.append((task / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError):
            continue
    return found


def _per_worker(metrics_dir: Path, tmp: Path, name: str, **labels: str) -> dict[str, float]:
    """One metric's value in each worker's own file (named for the worker's pid)."""
    values = {}
    for file in metrics_dir.glob("counter_*.db"):
        alone = tmp / file.stem
        alone.mkdir()
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        values[file.stem.removeprefix("counter_")] = sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )
    return values


def test_idempotency_key_yields_one_order_across_workers(pool: Pool) -> None:
    headers = {"Authorization": f"Bearer {pool.customer}", "Idempotency-Key": "pool-1"}
    body = {
        "requests": [{"content_id": pool.content_id, "media": "DVD-R", "copies": 3}],
        "ship_to": address(),
    }

    # a burst of the same POST at once, as a proxy retrying on every worker would send
    with ThreadPoolExecutor(8) as threads:
        burst = list(
            threads.map(
                lambda _: _fresh(pool, "POST", "/api/v1/orders", json=body, headers=headers),
                range(8),
            )
        )
    assert {r.status_code for r in burst} <= {201, 409}, [r.text for r in burst]
    made = {r.json()["id"] for r in burst if r.status_code == 201}
    assert len(made) == 1
    conflicts = [r for r in burst if r.status_code == 409]
    assert all("retry" in r.json()["detail"] for r in conflicts)

    # later retries, each on a new connection, replay the same order
    retries = [_fresh(pool, "POST", "/api/v1/orders", json=body, headers=headers) for _ in range(6)]
    assert {r.status_code for r in retries} == {201}
    assert {r.json()["id"] for r in retries} == made
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in retries)

    with pool.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalar(text("SELECT count(*) FROM idempotency_keys")) == 1

    # the same key with another body is refused, by whichever worker
    other = {**body, "requests": [{"content_id": pool.content_id, "media": "CD-R", "copies": 1}]}
    refused = _fresh(pool, "POST", "/api/v1/orders", json=other, headers=headers)
    assert refused.status_code == 422
    assert "different order" in refused.json()["detail"]


def test_token_made_by_one_worker_works_in_the_other(pool: Pool, tmp_path: Path) -> None:
    children = _children(pool.pid)
    # the API workers, and the dispatcher exactly once for the pool
    assert sum("spawn_main" in c for c in children) == 2, children
    assert sum("discflow dispatch" in c for c in children) == 1, children

    operator = {"Authorization": f"Bearer {pool.operator}"}
    registered = _fresh(
        pool,
        "POST",
        "/api/v1/devices",
        headers=operator,
        json={"name": "pub-9", "driver": "sim", "address": "http://127.0.0.1:8109"},
    )
    assert registered.status_code == 201, registered.text
    enrolled = _fresh(
        pool,
        "POST",
        "/api/v1/agents/enrol",
        json={"code": registered.json()["enrol_code"], "name": "pub-9", "address": None},
    )
    assert enrolled.status_code == 200, enrolled.text
    agent = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    status = {
        "name": "pub-9",
        "driver": "sim",
        "availability": "online",
        "drives": [{"index": 0, "state": "idle"}],
        "media": [],
        "cache": [],
        "cache_capacity_bytes": 10_000,
        "cache_free_bytes": 10_000,
    }

    def beat(_: int) -> int:
        path = "/api/v1/devices/pub-9/heartbeat"
        return _fresh(pool, "POST", path, json=status, headers=agent).status_code

    # /health answered means one worker is up, not both: the second may still be
    # importing on a loaded machine, and until it accepts, the kernel hands every
    # connection to the first. So beat in bursts until each worker has served one.
    heartbeat = {"route": "/api/v1/devices/{name}/heartbeat", "status": "204"}
    reads = 0

    def read_served() -> dict[str, float]:
        nonlocal reads
        reads += 1
        counted = tmp_path / f"counted-{reads}"
        counted.mkdir()
        return _per_worker(pool.metrics_dir, counted, "discflow_http_requests_total", **heartbeat)

    sent = 0
    served: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len([pid for pid, count in served.items() if count > 0]) < 2:
        assert time.monotonic() < deadline, f"one worker served every heartbeat: {served}"
        with ThreadPoolExecutor(8) as threads:
            codes = list(threads.map(beat, range(40)))
        assert codes == [204] * 40
        sent += 40
        served = read_served()
    # A request is counted once its response has gone out (the middleware's
    # ``finally``), so the last of a burst may not be in its worker's file yet
    # when the client has its 204 (seen in a clean-clone run: 39 of 40): wait for it.
    settle = time.monotonic() + 10
    while sum(served.values()) < sent and time.monotonic() < settle:
        time.sleep(0.05)
        served = read_served()
    # both workers accepted the token: whichever made it, the other used it too
    assert sum(served.values()) == sent

    # any worker's /metrics shows the sum over the pool
    scraped = _fresh(pool, "GET", "/metrics").text
    line = next(
        row
        for row in scraped.splitlines()
        if row.startswith("discflow_http_requests_total{")
        and 'route="/api/v1/devices/{name}/heartbeat"' in row
        and 'status="204"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) == sent

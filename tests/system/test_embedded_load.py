"""The embedded server stays responsive while its dispatcher is busy (issue #19, item 2).

``discflow serve`` on the default setup (SQLite in the data folder, the
dispatcher in-process) with four simulated publishers burning: one client
places orders one after another until the dispatcher has made its first job,
then N more, then N clients place one each at once.
Every order must be answered within ``ORDER_BOUND_S`` and the health check
within ``HEALTH_BOUND_S`` while that goes on, and the server's log must never
say "database is locked". Before the fix the dispatcher's synchronous writes ran
on the event loop and waited in the writer gate for a request thread that
waited on the loop: orders took 30-60 s and the log filled with "locked".
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Role
from tests.utils.factories import address
from tests.utils.processes import free_port, started
from tests.utils.system import ingest_contents

pytestmark = pytest.mark.slow

N = 40  # orders each way; 3 lines of up to 20 copies each keep the planner busy
# orders one by one until the dispatcher has made its first job, at most this many: an
# order is answered in ~0.05 s, sooner than the dispatcher's first plan after start-up,
# so a fixed count could end before the dispatcher began and test nothing
MAX_WARM_UP = 400
ORDER_BOUND_S = 10.0  # an order on this 2-core machine takes ~0.05 s; the bug took 30-60 s
# The health check is answered on the event loop, but under 40 order threads the loop
# thread waits its turn for the GIL: run alone it stays under 1 s, and with the other
# database's system tests beside it on 2 cores it reached 5.56 / 6.09 s (session 10),
# which a 5 s bound failed. The blocked loop this test guards against took 30-60 s, so
# the orders' own bound still tells the two apart with room on both sides.
HEALTH_BOUND_S = ORDER_BOUND_S
DEVICES = tuple(
    DeviceSpec(
        f"sim-{n}",
        "sim",
        2,
        {"CD-R": MediaSpec(5000, 7_800_000, 1.0, 5), "DVD-R": MediaSpec(5000, 21_600_000, 1.0, 5)},
        options={"time_scale": 0.05, "seed": n},
        heartbeat_s=0.5,
    )
    for n in range(4)
)


def _order(base: str, headers: dict[str, str], contents: list[str], n: int) -> float:
    body = {
        "requests": [
            {"content_id": contents[(n + k) % len(contents)], "media": "CD-R", "copies": 5 + k * 5}
            for k in range(3)
        ],
        "ship_to": address(),
    }
    began = time.monotonic()
    response = httpx.post(f"{base}/api/v1/orders", headers=headers, json=body, timeout=120)
    took = time.monotonic() - began
    assert response.status_code == 201, response.text
    return took


def _has_jobs(database: Database) -> bool:
    with database.transaction() as session:
        return session.scalars(store.select_jobs().limit(1)).first() is not None


def test_orders_are_answered_while_the_embedded_dispatcher_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DISCFLOW_DATA_DIR": str(data), "DISCFLOW_RUN_DISPATCHER": "1"}
    os.environ.pop("DISCFLOW_DATABASE_URL", None)  # the embedded default: SQLite in the data dir
    database = Database(f"sqlite:///{data / 'discflow.db'}")
    database.migrate()
    contents = [
        c.id
        for c in ingest_contents(
            database, BlobStore(data / "archive"), tmp_path / "t", sizes=[30_000] * 6, seed=4
        )
    ]
    with database.transaction() as session:
        token = store.create_token(session, store.ensure_user(session, "cara", role=Role.CUSTOMER))
    headers = {"Authorization": f"Bearer {token}"}
    fleet = Fleet(database, tmp_path / "agents", server_url=base)
    log = tmp_path / "serve.log"
    with started(["serve", "--port", str(port)], env, ready_url=f"{base}/api/v1/health", log=log):
        for spec in DEVICES:
            fleet.add(spec)
            fleet.start(spec.name)
        health: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                began = time.monotonic()
                httpx.get(f"{base}/api/v1/health", timeout=120).raise_for_status()
                health.append(time.monotonic() - began)
                time.sleep(0.2)

        prober = threading.Thread(target=probe, daemon=True)
        try:
            fleet.wait_ready()
            prober.start()
            one_by_one: list[float] = []
            while not _has_jobs(database) and len(one_by_one) < MAX_WARM_UP:
                one_by_one.append(_order(base, headers, contents, len(one_by_one)))
            assert _has_jobs(database), (
                f"the dispatcher made no job during {len(one_by_one)} orders: nothing to test"
            )
            warm_up = len(one_by_one)
            one_by_one += [_order(base, headers, contents, n) for n in range(N)]
            with ThreadPoolExecutor(max_workers=N) as pool:
                at_once = list(pool.map(lambda n: _order(base, headers, contents, n), range(N)))
        finally:
            done.set()
            prober.join(130)
            fleet.stop_all()
    text = log.read_text()
    assert "database is locked" not in text, text[-3000:]
    worst = {
        "sequential": max(one_by_one),
        "concurrent": max(at_once),
        "health": max(health),
    }
    # shown with -s, for the record
    print(f"orders before the first job: {warm_up}; slowest answers: {worst}")
    assert worst["sequential"] < ORDER_BOUND_S, worst
    assert worst["concurrent"] < ORDER_BOUND_S, worst
    assert worst["health"] < HEALTH_BOUND_S, worst
    database.dispose()

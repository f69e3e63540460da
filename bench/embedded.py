"""Embedded-server benchmark: is the API answered while its own dispatcher works?

``discflow serve`` on the default setup (SQLite in the data folder, the
dispatcher in-process) with simulated publishers, as in ``make demo``. Two
phases, each with a probe calling ``GET /api/v1/health`` every 50 ms:

- ``plan``: one order of ``--requests`` requests of ``--copies`` copies each
  goes in; the dispatcher plans it (the issue #19 case: 100 x 1,000 copies
  froze ``/health`` while the planner ran on the serving loop);
- ``orders``: ``--orders`` more orders placed by 8 concurrent clients while
  the floor burns.

Reports per phase the health latencies (p50, p99, max) and the order latencies,
plus the server process's CPU seconds, as one JSON document. ``--src DIR``
runs the server from another source tree (e.g. an older commit's
``git archive``) for a baseline measured in the same way.

    .venv/bin/python bench/embedded.py
    .venv/bin/python bench/embedded.py --src /tmp/base/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.utils
from discflow import store  # noqa: E402
from discflow.archive import BlobStore  # noqa: E402
from discflow.demo import DeviceSpec, Fleet, MediaSpec  # noqa: E402
from discflow.store import Database, Role  # noqa: E402
from tests.utils.factories import address  # noqa: E402
from tests.utils.processes import free_port, wait_http  # noqa: E402
from tests.utils.system import ingest_contents  # noqa: E402


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


class Probe:
    def __init__(self, base: str) -> None:
        self.base = base
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                client.get(f"{self.base}/api/v1/health").raise_for_status()
                self.times.append(time.monotonic() - began)
                time.sleep(0.05)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(130)


def _order(base: str, headers: dict[str, str], lines: list[dict[str, Any]]) -> float:
    began = time.monotonic()
    response = httpx.post(
        f"{base}/api/v1/orders",
        headers=headers,
        json={"requests": lines, "ship_to": address()},
        timeout=300,
    )
    if response.status_code != 201:
        raise SystemExit(f"order refused: {response.status_code} {response.text[:300]}")
    return time.monotonic() - began


def _jobs(database: Database) -> int:
    with database.transaction() as session:
        return len(list(session.scalars(store.select_jobs())))


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data = root / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = Database(f"sqlite:///{data / 'discflow.db'}")
    database.migrate()
    contents = [
        c.id
        for c in ingest_contents(
            database, BlobStore(data / "archive"), root / "t", sizes=[20_000] * 10, seed=9
        )
    ]
    with database.transaction() as session:
        user = store.ensure_user(session, "cara", role=Role.CUSTOMER)
        headers = {"Authorization": f"Bearer {store.create_token(session, user)}"}
    env = {**os.environ, "DISCFLOW_DATA_DIR": str(data), "DISCFLOW_RUN_DISPATCHER": "1"}
    env.pop("DISCFLOW_DATABASE_URL", None)
    if args.src:
        env["PYTHONPATH"] = args.src
    log = (root / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "discflow", "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    fleet = Fleet(database, root / "agents", server_url=base)
    result: dict[str, Any] = {"src": args.src or "this tree"}
    try:
        wait_http(f"{base}/api/v1/health", process=server, timeout=120)
        for n in range(args.devices):
            media = {"CD-R": MediaSpec(100_000, 7_800_000, 1.0, 5)}
            fleet.add(DeviceSpec(f"sim-{n}", "sim", 2, media, options={"time_scale": 0.02}))
            fleet.start(f"sim-{n}")
        fleet.wait_ready()
        time.sleep(2)  # every agent has heartbeated
        cpu = _cpu_s(server.pid)
        big = [
            {"content_id": contents[k % len(contents)], "media": "CD-R", "copies": args.copies}
            for k in range(args.requests)
        ]
        with Probe(base) as probe:
            placed = _order(base, headers, big)
            deadline = time.monotonic() + 120
            while _jobs(database) == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(args.settle_s)
        result["plan"] = {
            "order_s": round(placed, 3),
            "jobs_made": _jobs(database),
            "health": _quantiles(probe.times),
            "server_cpu_s": round(_cpu_s(server.pid) - cpu, 2),
        }
        cpu = _cpu_s(server.pid)
        small = [[{"content_id": c, "media": "CD-R", "copies": 3}] for c in contents]
        with Probe(base) as probe, ThreadPoolExecutor(max_workers=8) as pool:
            took = list(
                pool.map(lambda n: _order(base, headers, small[n % len(small)]), range(args.orders))
            )
        result["orders"] = {
            "orders": _quantiles(took),
            "health": _quantiles(probe.times),
            "server_cpu_s": round(_cpu_s(server.pid) - cpu, 2),
        }
    finally:
        fleet.stop_all()
        server.terminate()
        server.wait(60)
        log.close()
        database.dispose()
    text = (root / "serve.log").read_text(errors="replace")
    result["database_is_locked"] = text.count("database is locked")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--settle-s", type=float, default=5.0, help="probe on after the plan")
    parser.add_argument("--src", default="", help="run the server from this source tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="discflow-embedded-") as tmp:
        print(json.dumps(run(args, Path(tmp)), indent=2))


if __name__ == "__main__":
    main()

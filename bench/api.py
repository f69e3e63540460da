"""API benchmark: order creations per second and p50/p99 latency.

A real ``discflow serve`` (API only: ``DISCFLOW_RUN_DISPATCHER=0``) on loopback,
driven by a load generator in a second process (asyncio + httpx) at several
concurrency levels, on SQLite and on PostgreSQL, with 1 and 2 API workers.
Each cell also measures ``GET /api/v1/health`` with the same client and the
same concurrency: the ceiling that the HTTP stack, the client and the shared
CPU allow, against which the order path is compared. Prints one JSON document.

    .venv/bin/python bench/api.py                       # everything, ~3 minutes
    .venv/bin/python bench/api.py --databases sqlite --workers 1 --seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

from discflow import store
from discflow.store import Database, Role

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
SHIP_TO = {
    "name": "Ada Lovelace",
    "lines": ["12 St James's Square"],
    "city": "London",
    "region": None,
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


# ---- the load generator (runs in its own process) ----------------------------------------


async def _load(
    url: str,
    token: str,
    content: str,
    kind: str,
    clients: int,
    seconds: float,
    *,
    server_pids: list[int],
    db_name: str,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def one() -> None:
            if kind == "health":
                response = await client.get("/api/v1/health")
                expected = 200
            else:
                body = {
                    "requests": [{"content_id": content, "media": "CD-R", "copies": 1}],
                    "ship_to": SHIP_TO,
                }
                # every order carries a key, as a client that may retry should
                key = {"Idempotency-Key": uuid.uuid4().hex}
                response = await client.post("/api/v1/orders", json=body, headers=key)
                expected = 201
            if response.status_code != expected:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1

        async def worker(deadline: float, record: bool) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    await one()
                except httpx.HTTPError as error:
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                if record:
                    latencies.append(time.perf_counter() - started)

        # warm up: connections open, caches filled, then measure
        warm = time.perf_counter() + min(1.0, seconds / 3)
        await asyncio.gather(*(worker(warm, False) for _ in range(clients)))
        cpu_before = _cpu(server_pids, db_name)
        client_before = time.process_time()
        begin = time.perf_counter()
        await asyncio.gather(*(worker(begin + seconds, True) for _ in range(clients)))
        elapsed = time.perf_counter() - begin
        client_cpu = time.process_time() - client_before
        cpu_after = _cpu(server_pids, db_name)
    latencies.sort()
    done = max(1, len(latencies))

    def per_call_ms(kind: str) -> float:
        used = sum(t - cpu_before[kind].get(p, 0) for p, t in cpu_after[kind].items())
        return round(1000 * used / _TICKS / done, 3)

    return {
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * _quantile(latencies, 0.50), 2),
        "p99_ms": round(1000 * _quantile(latencies, 0.99), 2),
        "count": len(latencies),
        "errors": errors,
        # CPU time per call: what each call costs, whoever else shares the cores
        "cpu_ms": {
            "server": per_call_ms("server"),
            "database": per_call_ms("database"),
            "client": round(1000 * client_cpu / done, 3),
        },
    }


_TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _cpu(server_pids: list[int], db_name: str) -> dict[str, dict[int, int]]:
    """CPU ticks of the server's processes and of the database's backends by pid."""
    database: dict[int, int] = {}
    if db_name:
        # PostgreSQL names each backend's process after its database
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if f" {db_name} ".encode() in cmdline:
                database[int(proc.name)] = _ticks(int(proc.name))
    return {"server": {pid: _ticks(pid) for pid in server_pids}, "database": database}


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


# ---- the harness ---------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _database(kind: str, folder: Path, pg_server: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'discflow.db'}"
        return
    server = make_url(pg_server).set(drivername="postgresql+psycopg")
    name = f"discflow_bench_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(url: str) -> tuple[str, str]:
    database = Database(url)
    database.migrate()
    with database.transaction() as session:
        user = store.ensure_user(session, "bench", role=Role.CUSTOMER)
        token = store.create_token(session, user, label="bench")
        content = store.add_content(
            session, title="Bench Disc", sha256="ab" * 32, size_bytes=300_000_000
        )
        content_id = content.id
    database.dispose()
    return token, content_id


@dataclass(frozen=True, slots=True)
class Target:
    """A running server and what the load generator needs to drive and measure it."""

    base: str
    token: str
    content: str
    server_pids: tuple[int, ...]
    db_name: str  # PostgreSQL database whose backends' CPU is counted; "" for SQLite


def _process_tree(root: int) -> tuple[int, ...]:
    parents: dict[int, int] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tuple(tree)


@contextmanager
def _server(url: str, folder: Path, workers: int) -> Iterator[tuple[str, tuple[int, ...]]]:
    port = _free_port()
    env = {
        **os.environ,
        "DISCFLOW_DATABASE_URL": url,
        "DISCFLOW_DATA_DIR": str(folder / "data"),
        "DISCFLOW_RUN_DISPATCHER": "0",
        # one account places every order here: no per-account quota (docs/security.md)
        "DISCFLOW_QUOTA_COPIES_PER_DAY": "0",
        "DISCFLOW_QUOTA_OPEN_ORDERS": "0",
    }
    args = ["serve", "--port", str(port), "--workers", str(workers), "--no-access-log"]
    log = (folder / f"serve-{workers}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "discflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"discflow serve did not start; see {log.name}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, _process_tree(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _run_load(target: Target, kind: str, clients: int, seconds: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "_load", "--url", target.base, "--token", target.token]
    command += ["--content", target.content, "--kind", kind, "--clients", str(clients)]
    command += ["--seconds", str(seconds), "--db-name", target.db_name]
    command += ["--server-pids", ",".join(map(str, target.server_pids))]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _calibration() -> dict[str, float]:
    """How fast this machine runs plain Python now, and how much of a core we get."""
    cpu, wall = time.process_time(), time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    # a 2020s desktop core does this loop in ~0.1 s of CPU
    return {"loop_3m_cpu_s": round(cpu, 3), "cpu_share_of_one_core": round(cpu / wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per cell")
    parser.add_argument("--pg-server", default=os.environ.get("DISCFLOW_BENCH_PG", PG_SERVER))
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("_load", help="(internal) the load generator process")
    load.add_argument("--url", required=True)
    load.add_argument("--token", required=True)
    load.add_argument("--content", required=True)
    load.add_argument("--kind", choices=("orders", "health"), required=True)
    load.add_argument("--clients", type=int, required=True)
    load.add_argument("--seconds", type=float, required=True)
    load.add_argument("--server-pids", default="")
    load.add_argument("--db-name", default="")
    args = parser.parse_args()
    if args.command == "_load":
        result = asyncio.run(
            _load(
                args.url,
                args.token,
                args.content,
                args.kind,
                args.clients,
                args.seconds,
                server_pids=[int(p) for p in args.server_pids.split(",") if p],
                db_name=args.db_name,
            )
        )
        print(json.dumps(result))
        return

    cells = []
    for kind in args.databases.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            with (
                tempfile.TemporaryDirectory(prefix="discflow-bench-") as tmp,
                _database(kind, Path(tmp), args.pg_server) as url,
            ):
                token, content = _seed(url)
                db_name = make_url(url).database or "" if kind == "postgresql" else ""
                with _server(url, Path(tmp), workers) as (base, pids):
                    target = Target(base, token, content, pids, db_name)
                    for clients in (int(c) for c in args.clients.split(",")):
                        orders = _run_load(target, "orders", clients, args.seconds)
                        health = _run_load(target, "health", clients, args.seconds)
                        cpu = orders["cpu_ms"]
                        cell = {
                            "database": kind,
                            "workers": workers,
                            "clients": clients,
                            "orders": orders,
                            "health_baseline": health,
                            "orders_vs_health": round(orders["per_s"] / health["per_s"], 3),
                            # orders/s if this machine's cores ran nothing but this test
                            "cpu_bound_orders_per_s": round(
                                1000 * (os.cpu_count() or 1) / max(0.001, sum(cpu.values())), 1
                            ),
                        }
                        print(json.dumps(cell), file=sys.stderr, flush=True)
                        cells.append(cell)
    print(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average": os.getloadavg(),
                    **_calibration(),
                },
                "seconds_per_cell": args.seconds,
                "cells": cells,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

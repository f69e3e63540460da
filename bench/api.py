"""API benchmark: server CPU per order, per authenticated GET and per health call.

A real ``discflow serve`` (API only: ``DISCFLOW_RUN_DISPATCHER=0``) on loopback,
driven by a load generator in a second process (asyncio + httpx) at several
concurrency levels, on SQLite and on PostgreSQL, with 1 and 2 API workers.
Each cell measures three calls with the same client and concurrency:
``POST /api/v1/orders`` (one request line, its own ``Idempotency-Key``), an
authenticated ``GET /api/v1/contents/{id}`` and ``GET /api/v1/health``. Server
CPU per call is read from ``/proc`` for the server's processes (and for the
benchmark database's PostgreSQL backends): it is what a call costs whoever else
shares the cores, where calls/s and latency say what this run got. Each figure
is the median of ``--rounds`` rounds, so a busy neighbour spoils a round, not the
figure. ``--baseline-src DIR`` runs every cell a second time with the server
(and its seeding) imported from another source tree, e.g. an older commit's
``git archive``, so the baseline is measured in the same run. Prints one JSON
document.

    .venv/bin/python bench/api.py                       # everything
    .venv/bin/python bench/api.py --databases sqlite --workers 1 --seconds 2 --rounds 3
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
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.utils
from tests.utils.databases import private_database  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
_TO_JSON = json.dumps  # _RawClient.post takes json= like httpx's
KINDS = ("orders", "get", "health")
SHIP_TO = {
    "name": "Ada Lovelace",
    "lines": ["12 St James's Square"],
    "city": "London",
    "region": None,
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


# ---- the load generator (runs in its own process) ----------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    status_code: int


class _RawClient:
    """HTTP/1.1 on keep-alive sockets, written by hand: ~10x less client CPU per call than
    httpx, so that at 16 clients the load generator is not what the calls queue behind
    (``--client raw``). Speaks only what these three calls need: Content-Length bodies."""

    def __init__(self, url: str, headers: dict[str, str], clients: int) -> None:
        parsed = httpx.URL(url)
        self._host, self._port = parsed.host, parsed.port or 80
        common = {"Host": f"{self._host}:{self._port}", **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in common.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> _RawClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for _, writer in self._idle:
            writer.close()

    async def _call(self, method: str, path: str, body: bytes, extra: dict[str, str]) -> _Answer:
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        lines = self._head + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        if body:
            lines += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        self._idle.append((reader, writer))
        return _Answer(status)

    async def get(self, path: str) -> _Answer:
        return await self._call("GET", path, b"", {})

    async def post(self, path: str, *, json: Any, headers: dict[str, str]) -> _Answer:
        return await self._call("POST", path, _TO_JSON(json).encode(), headers)


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
    raw: bool = False,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    client: Any = (
        _RawClient(url, headers, clients)
        if raw
        else httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30)
    )
    async with client:

        async def one() -> None:
            if kind == "health":
                response = await client.get("/api/v1/health")
                expected = 200
            elif kind == "get":
                response = await client.get(f"/api/v1/contents/{content}")
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
                except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:
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


def _seed(url: str) -> dict[str, str]:
    """A customer with a token and one catalog entry (run with the server's source tree)."""
    from discflow import store
    from discflow.store import Database, Role

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
    return {"token": token, "content": content_id}


def _source_env(src: Path | None) -> dict[str, str]:
    """The environment that makes ``python -m discflow`` import from ``src`` (None: this tree)."""
    if src is None:
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": str(src)}


def _seed_in(url: str, src: Path | None) -> dict[str, str]:
    command = [sys.executable, __file__, "_seed", "--url", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=_source_env(src))
    seeded: dict[str, str] = json.loads(done.stdout)
    return seeded


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
def _server(
    url: str, folder: Path, workers: int, src: Path | None
) -> Iterator[tuple[str, tuple[int, ...]]]:
    port = _free_port()
    env = {
        **_source_env(src),
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


def _run_load(
    target: Target, kind: str, clients: int, seconds: float, client: str = "httpx"
) -> dict[str, Any]:
    command = [sys.executable, __file__, "_load", "--url", target.base, "--token", target.token]
    command += ["--content", target.content, "--kind", kind, "--clients", str(clients)]
    command += ["--seconds", str(seconds), "--db-name", target.db_name]
    command += ["--server-pids", ",".join(map(str, target.server_pids)), "--client", client]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds (errors summed), with every round's CPU kept."""

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    errors: dict[str, int] = {}
    for one in rounds:
        for name, count in one["errors"].items():
            errors[name] = errors.get(name, 0) + count
    return {
        "per_s": median([r["per_s"] for r in rounds]),
        "p50_ms": median([r["p50_ms"] for r in rounds]),
        "p99_ms": median([r["p99_ms"] for r in rounds]),
        "count": sum(r["count"] for r in rounds),
        "errors": errors,
        "cpu_ms": {
            part: median([r["cpu_ms"][part] for r in rounds])
            for part in ("server", "database", "client")
        },
        "server_cpu_ms_rounds": [r["cpu_ms"]["server"] for r in rounds],
    }


def _cell(
    kind: str, workers: int, code: str, src: Path | None, args: argparse.Namespace
) -> Iterator[dict[str, Any]]:
    """Start one server on a fresh database and measure it at every client count."""
    with (
        tempfile.TemporaryDirectory(prefix="discflow-bench-") as tmp,
        private_database(kind, Path(tmp), args.pg_server) as url,
    ):
        seeded = _seed_in(url, src)
        db_name = make_url(url).database or "" if kind == "postgresql" else ""
        with _server(url, Path(tmp), workers, src) as (base, pids):
            target = Target(base, seeded["token"], seeded["content"], pids, db_name)
            for clients in (int(c) for c in args.clients.split(",")):
                rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
                for _ in range(args.rounds):
                    for call in KINDS:  # interleaved, so a busy spell hits every kind alike
                        rounds[call].append(
                            _run_load(target, call, clients, args.seconds, args.client)
                        )
                yield {
                    "database": kind,
                    "workers": workers,
                    "clients": clients,
                    "code": code,
                    # what else ran meanwhile: a p99 on a shared machine needs it beside it
                    "load_average_1m": round(os.getloadavg()[0], 2),
                    **{call: _median_of(rounds[call]) for call in KINDS},
                }


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
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per cell; medians reported")
    parser.add_argument(
        "--current-src",
        type=Path,
        default=None,
        help="the source tree to measure as 'current' (default: the one this file imports)",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="a source tree (the folder holding discflow/) to measure beside this one",
    )
    parser.add_argument("--pg-server", default=os.environ.get("DISCFLOW_BENCH_PG", PG_SERVER))
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="load generator: httpx, or hand-written HTTP/1.1 (much less client CPU per call)",
    )
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("_load", help="(internal) the load generator process")
    load.add_argument("--url", required=True)
    load.add_argument("--token", required=True)
    load.add_argument("--content", required=True)
    load.add_argument("--kind", choices=KINDS, required=True)
    load.add_argument("--clients", type=int, required=True)
    load.add_argument("--seconds", type=float, required=True)
    load.add_argument("--server-pids", default="")
    load.add_argument("--db-name", default="")
    load.add_argument("--client", choices=("httpx", "raw"), default="httpx")
    seed = sub.add_parser("_seed", help="(internal) seed a database, print token and content")
    seed.add_argument("--url", required=True)
    args = parser.parse_args()
    if args.command == "_seed":
        print(json.dumps(_seed(args.url)))
        return
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
                raw=args.client == "raw",
            )
        )
        print(json.dumps(result))
        return

    sources: list[tuple[str, Path | None]] = [
        ("current", args.current_src.resolve() if args.current_src else None)
    ]
    if args.baseline_src is not None:
        sources.append(("baseline", args.baseline_src.resolve()))
    cells = []
    for kind in args.databases.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            for code, src in sources:
                for cell in _cell(kind, workers, code, src, args):
                    print(json.dumps(_summary(cell)), file=sys.stderr, flush=True)
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
                "load_generator": args.client,
                "seconds_per_round": args.seconds,
                "rounds": args.rounds,
                "cells": cells,
            },
            indent=2,
        )
    )


def _summary(cell: dict[str, Any]) -> dict[str, Any]:
    """One line per cell for the progress log: the figures BENCHMARKS.md shows."""
    return {
        "db": cell["database"],
        "w": cell["workers"],
        "c": cell["clients"],
        "code": cell["code"],
        "load": cell["load_average_1m"],
        **{
            call: {
                "server_cpu_ms": cell[call]["cpu_ms"]["server"],
                "db_cpu_ms": cell[call]["cpu_ms"]["database"],
                "per_s": cell[call]["per_s"],
                "p50": cell[call]["p50_ms"],
                "p99": cell[call]["p99_ms"],
                "errors": cell[call]["errors"],
            }
            for call in KINDS
        },
    }


if __name__ == "__main__":
    main()

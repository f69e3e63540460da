"""Dispatch benchmark: order-to-assignment latency and end-to-end throughput.

Each scenario is a fresh world: one database (SQLite, or a fresh PostgreSQL
database made for the run and dropped after), one ``discflow serve`` with
``DISCFLOW_RUN_DISPATCHER=0``, A ``sim`` agents hosted in one process
(``bench/agent_farm.py``), and one or two ``discflow dispatch`` processes. Once
every agent has reported in, N requests go in over the API (orders of 5
requests, 1-3 copies each, as fast as 4 clients can place them); the run ends
when every request is final. Scenarios:

- ``one``: a single dispatcher (the baseline);
- ``two`` / ``four``: dispatchers d1..dN;
- ``two-kill`` / ``four-kill``: the same, d1 SIGKILLed once half the requests are done.

``--sites S`` puts the agents round-robin in S sites (one planner lease each),
so with ``four`` and ``--sites 4`` each dispatcher plans about one site.
Dispatcher CPU is read from ``/proc`` (user + system, from the first order to
the end; a killed one's up to its kill) and reported per disc beside discs/s.
``--baseline-src DIR`` runs each scenario a second time with the dispatchers
imported from DIR (e.g. ``git archive <commit> src``), in the same run.

Latency is ``request.assigned`` ``at`` (first one per request, from
``GET /api/v1/events``) minus the order's ``created_at``. Every scenario checks
from the jobs table that each request is done with exactly ``copies`` good discs
(lost = requests not done, doubled = requests with more good discs than copies;
doubled_returned = those of them a device burned after it was presumed dead and came back).
Prints one JSON document.

    .venv/bin/python bench/dispatch.py                       # 500 x 20, ~6.5 min here
    .venv/bin/python bench/dispatch.py --requests 2000 --agents 50 --scenarios two-kill
    .venv/bin/python bench/dispatch.py --database postgresql --sites 4 --scenarios one,four-kill
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from discflow import store
from discflow.archive import BlobStore
from discflow.domain import DispatchReason
from discflow.store import Database, Role, new_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.utils
from tests.utils.databases import private_database  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
SHIP_TO = {
    "name": "Ada Lovelace",
    "lines": ["12 St James's Square"],
    "city": "London",
    "region": None,
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
PER_ORDER = 5
FINAL = ("done", "failed", "cancelled")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited with {process.returncode} before {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s} s")


def _seed(
    url: str, folder: Path, *, agents: int, contents: int, server: str, sites: int
) -> dict[str, Any]:
    """Migrate, ingest small contents, make tokens, register agents; the farm's configs."""
    database = Database(url)
    database.migrate()
    blobs = BlobStore(folder / "data" / "archive")
    rng = random.Random(7)
    content_ids = []
    for index in range(contents):
        tree = folder / f"content-{index}"
        tree.mkdir(parents=True)
        (tree / "notes.txt").write_text(f"content {index}\n" * 50)
        (tree / f"data-{index}.bin").write_bytes(rng.randbytes(100_000 + index * 20_000))
        stored = blobs.ingest_directory(tree, volume_name=f"CONTENT_{index}")
        with database.transaction() as session:
            content = store.add_content(
                session,
                title=f"Content {index}",
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
            )
            content_ids.append(content.id)
    configs = []
    with database.transaction() as session:
        customer = store.create_token(
            session, store.ensure_user(session, "cara", role=Role.CUSTOMER)
        )
        operator = store.create_token(
            session, store.ensure_user(session, "otto", role=Role.OPERATOR)
        )
        for i in range(agents):
            name, port, token = f"sim-{i:03d}", _free_port(), new_token("dfa")
            store.register_device(
                session,
                name=name,
                driver="sim",
                address=f"http://127.0.0.1:{port}",
                actor="bench",
                agent_token=token,
                **({"site": f"site-{i % sites}"} if sites > 1 else {}),
            )
            configs.append(
                {
                    "name": name,
                    "driver": "sim",
                    "listen": f"127.0.0.1:{port}",
                    "server_url": server,
                    "token": token,
                    "cache_dir": str(folder / "agents" / name / "cache"),
                    "cache_bytes": 2_000_000_000,
                    "drives": 2,
                    "heartbeat_s": 2.0,
                    "media": {
                        "CD-R": {
                            "loaded": 100_000,
                            "write_Bps": 7_800_000,
                            "overhead_s": 5.0,
                            "low_threshold": 5,
                        }
                    },
                    "driver_options": {"time_scale": 0.001, "seed": i},
                }
            )
    database.dispose()
    (folder / "farm.json").write_text(json.dumps(configs))
    return {"customer": customer, "operator": operator, "contents": content_ids}


async def _place(base: str, token: str, contents: list[str], requests: int) -> list[dict[str, Any]]:
    """Place the orders; returns each created order (id, created_at, requests)."""
    rng = random.Random(11)
    bodies = []
    left = requests
    while left > 0:
        n = min(PER_ORDER, left)
        left -= n
        lines = [
            {"content_id": rng.choice(contents), "media": "CD-R", "copies": rng.randint(1, 3)}
            for _ in range(n)
        ]
        bodies.append({"requests": lines, "ship_to": SHIP_TO})
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    orders: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post("/api/v1/orders", json=body)
                if response.status_code != 201:
                    raise SystemExit(f"order refused: {response.status_code} {response.text}")
                orders.append(response.json())

        await asyncio.gather(*(worker() for _ in range(4)))
    return orders


def _states(database: Database) -> Counter[str]:
    with database.transaction() as session:
        rows = session.execute(
            select(store.Request.state, func.count()).group_by(store.Request.state)
        )
        return Counter({row[0]: row[1] for row in rows})


def _first_assigned(base: str, token: str) -> dict[str, datetime]:
    headers = {"Authorization": f"Bearer {token}"}
    first: dict[str, datetime] = {}
    after = 0
    while True:
        page = httpx.get(
            f"{base}/api/v1/events",
            params={"type": "request.assigned", "after_id": after, "limit": 1000},
            headers=headers,
            timeout=60,
        ).json()
        if not page:
            return first
        for event in page:
            request_id = event["request_id"]
            at = datetime.fromisoformat(event["at"])
            if request_id not in first or at < first[request_id]:
                first[request_id] = at
        after = max(event["id"] for event in page)


def _audit(database: Database, placed: dict[str, int]) -> dict[str, int]:
    """Lost and doubled requests, from the requests and jobs tables.

    ``doubled_returned`` counts the doubled requests with a job that was lost while
    its device was silent and counted when the device came back (its discs were
    burned twice, by design: a silent device is presumed dead); the rest of
    ``doubled`` has no such explanation."""
    with database.transaction() as session:
        states = {
            r[0]: r[1] for r in session.execute(select(store.Request.id, store.Request.state))
        }
        good: Counter[str] = Counter()
        returned: set[str] = set()
        for job in session.scalars(store.select_jobs()):
            good[job.request_id] += job.good_copies
            if job.reason == DispatchReason.DEVICE_RETURNED and job.good_copies:
                returned.add(job.request_id)
    lost = sum(1 for r in placed if states.get(r) != "done" or good[r] < placed[r])
    doubled = [r for r, copies in placed.items() if good[r] > copies]
    return {
        "lost": lost,
        "doubled": len(doubled),
        "doubled_returned": sum(1 for r in doubled if r in returned),
    }


def _ticks(pid: int) -> int:
    """CPU ticks (user + system) a live process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _dispatcher_command(discflow: list[str], name: str, profile: Path | None) -> list[str]:
    """``discflow dispatch``; under cProfile with a CPU-time timer when ``profile`` is set."""
    if profile is None:
        return [*discflow, "dispatch", "--name", name]
    program = (
        "import cProfile, contextlib, sys, time\n"
        "from discflow.cli import main\n"
        "out, sys.argv = sys.argv[1], ['discflow', 'dispatch', '--name', sys.argv[2]]\n"
        "profiler = cProfile.Profile(time.process_time)\n"
        "with contextlib.suppress(SystemExit):\n"
        "    profiler.runcall(main)\n"
        "profiler.dump_stats(out)\n"
    )
    return [sys.executable, "-c", program, str(profile / f"{name}.prof"), name]


def _scenario_shape(name: str) -> tuple[int, bool]:
    """(dispatchers, kill one mid-run) from a scenario's name."""
    counts = {"one": 1, "two": 2, "four": 4}
    base, _, kill = name.partition("-")
    if base not in counts or kill not in ("", "kill"):
        raise SystemExit(f"unknown scenario {name!r} (one, two, four, each optionally -kill)")
    return counts[base], kill == "kill"


def _scenario(
    name: str, args: argparse.Namespace, folder: Path, timeout_s: float, src: Path | None
) -> dict[str, Any]:
    folder.mkdir(parents=True)
    with ExitStack() as stack:
        url = stack.enter_context(private_database(args.database, folder, args.pg_server))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        seeded = _seed(
            url, folder, agents=args.agents, contents=args.contents, server=base, sites=args.sites
        )
        env = {
            "DISCFLOW_DATA_DIR": str(folder / "data"),
            "DISCFLOW_DATABASE_URL": url,
            "DISCFLOW_RUN_DISPATCHER": "0",
            # one account places every order here: no per-account quota (docs/security.md)
            "DISCFLOW_QUOTA_COPIES_PER_DAY": "0",
            "DISCFLOW_QUOTA_OPEN_ORDERS": "0",
            "DISCFLOW_LEASE_S": str(args.lease_s),
            "DISCFLOW_LABEL_PRINTER": f"folder:{folder / 'labels'}",
        }
        discflow = [sys.executable, "-m", "discflow"]
        processes: list[subprocess.Popen[bytes]] = []
        stack.callback(lambda: [_stop(p) for p in reversed(processes)])
        serve = _process(
            [*discflow, "serve", "--port", str(port), "--no-access-log"], env, folder / "serve.log"
        )
        processes.append(serve)
        _wait_http(f"{base}/api/v1/health", serve)
        farm_script = Path(__file__).with_name("agent_farm.py")
        farm = _process(
            [sys.executable, str(farm_script), "--configs", str(folder / "farm.json")],
            env,
            folder / "farm.log",
        )
        processes.append(farm)
        database = Database(url)
        stack.callback(database.dispose)
        # every agent has heartbeated (it is online) before any order goes in
        deadline = time.monotonic() + 120
        while True:
            with database.transaction() as session:
                seen = session.scalar(
                    select(func.count())
                    .select_from(store.Device)
                    .where(store.Device.last_seen_at.is_not(None))
                )
            if seen == args.agents:
                break
            if farm.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"agents did not report in ({seen}/{args.agents}); see farm.log")
            time.sleep(0.5)
        count, kill = _scenario_shape(name)
        names = [f"d{i + 1}" for i in range(count)]
        dispatch_env = {**env, "PYTHONPATH": str(src)} if src is not None else env
        profile = args.profile_dir / folder.name if args.profile_dir else None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        dispatchers = {
            n: _process(
                _dispatcher_command(discflow, n, profile),
                dispatch_env,
                folder / f"dispatch-{n}.log",
            )
            for n in names
        }
        processes.extend(dispatchers.values())
        time.sleep(2.0)  # dispatchers connected and idle

        idle_ticks = {n: _ticks(p.pid) for n, p in dispatchers.items()}
        ticks = dict(idle_ticks)
        began = time.perf_counter()
        orders = asyncio.run(_place(base, seeded["customer"], seeded["contents"], args.requests))
        placed_s = time.perf_counter() - began
        placed = {r["id"]: r["copies"] for o in orders for r in o["requests"]}
        created = {
            r["id"]: datetime.fromisoformat(o["created_at"]) for o in orders for r in o["requests"]
        }
        killed_at: float | None = None
        deadline = time.monotonic() + timeout_s
        while True:
            states = _states(database)
            final = sum(states[s] for s in FINAL)
            if final >= len(placed):
                break
            ticks.update({n: _ticks(p.pid) for n, p in dispatchers.items() if p.poll() is None})
            early = [n for n, p in dispatchers.items() if p.poll() is not None and n != "d1"]
            if early or (killed_at is None and dispatchers["d1"].poll() is not None):
                raise SystemExit(f"dispatcher(s) exited early; see {folder}/dispatch-*.log")
            if kill and killed_at is None and states["done"] >= len(placed) // 2:
                _stop(dispatchers["d1"], kill=True)
                killed_at = time.perf_counter() - began
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - began
        ticks.update({n: _ticks(p.pid) for n, p in dispatchers.items() if p.poll() is None})
        hz = os.sysconf("SC_CLK_TCK")
        cpu = {n: (ticks[n] - idle_ticks[n]) / hz for n in names}
        audit = _audit(database, placed)
        assigned = _first_assigned(base, seeded["operator"])
        latencies = [(assigned[r] - created[r]).total_seconds() for r in placed if r in assigned]
        discs = sum(placed.values())
        return {
            "scenario": name,
            "source": "baseline" if src is not None else "current",
            "dispatchers": len(names),
            "requests": len(placed),
            "discs": discs,
            "agents": args.agents,
            "sites": args.sites,
            "states": dict(states),
            "finished": final >= len(placed),
            "place_s": round(placed_s, 2),
            "elapsed_s": round(elapsed, 2),
            "discs_per_s": round(discs / elapsed, 2),
            "requests_per_s": round(len(placed) / elapsed, 2),
            "assign_p50_s": round(_quantile(latencies, 0.50), 3),
            "assign_p99_s": round(_quantile(latencies, 0.99), 3),
            "assign_max_s": round(max(latencies, default=float("nan")), 3),
            "assigned_seen": len(latencies),
            "dispatcher_cpu_s": {n: round(v, 2) for n, v in cpu.items()},
            "dispatcher_cpu_ms_per_disc": round(1000 * sum(cpu.values()) / discs, 2),
            "killed_d1_at_s": None if killed_at is None else round(killed_at, 2),
            **audit,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--contents", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--database-url",
        dest="pg_server",
        default=PG_SERVER,
        help="PostgreSQL server (a fresh database is made there and dropped)",
    )
    parser.add_argument("--scenarios", default="one,two,two-kill")
    parser.add_argument("--lease-s", type=float, default=5.0)
    parser.add_argument("--timeout-s", type=float, default=600.0, help="per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs)")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="a source tree (the folder holding discflow/) whose dispatchers run each scenario "
        "a second time, in the same run (the server and agents stay this tree's)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each scenario and source")
    parser.add_argument(
        "--sites", type=int, default=1, help="devices spread round-robin over this many sites"
    )
    parser.add_argument(
        "--profile-dir", type=Path, default=None, help="run dispatchers under cProfile (CPU time)"
    )
    args = parser.parse_args()
    # every process (this one seeds the agent tokens) must seal with one key (store._secrets)
    os.environ.setdefault("DISCFLOW_SECRET_KEY", secrets.token_hex(32))
    results = []
    root = Path(tempfile.mkdtemp(prefix="discflow-dispatch-bench-"))
    sources: list[Path | None] = [None]
    if args.baseline_src is not None:
        sources.append(args.baseline_src.resolve())
    try:
        for round_ in range(args.rounds):
            for name in args.scenarios.split(","):
                for src in sources:
                    label = f"{name}-{'baseline' if src else 'current'}-{round_}"
                    results.append(_scenario(name, args, root / label, args.timeout_s, src))
                    print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(root)], check=False)
        else:
            print(f"logs in {root}", file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "dispatch",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "database": args.database,
                "command": " ".join(["bench/dispatch.py", *sys.argv[1:]]),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

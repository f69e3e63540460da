"""Order search benchmark: the operator's order list over 10,000 orders.

Fills a fresh database (PostgreSQL by default) with N orders of one or two
requests each, 100 customers, 50 titles, 3 devices and a job for every third
request, then times the page's own query (``_order_search.search_orders``: one
page of 50 and the count) for each filter, the CSV export of a filtered list,
and, as the baseline in the same run, the list the page used before search
existed (``store.list_orders``, newest 50). Each case runs ``--repeat`` times
after one warm-up; the JSON gives the median and p95 wall time and the client
CPU time per query (the database server's CPU is not in it).

    .venv/bin/python bench/search.py                     # PostgreSQL, 10,000 orders
    .venv/bin/python bench/search.py --database sqlite --orders 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from discflow import store
from discflow.store import Database, Job, Order, Principal, Request, Role, User
from discflow.web.pages._order_search import OrderFilter, all_matching, orders_csv, search_orders

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.utils
from tests.utils.databases import private_database  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
DEVICES = ("pub-1", "pub-2", "sim-1")
STATES = ("queued", "assigned", "burning", "done", "done", "done", "cancelled", "failed")


def fill(database: Database, orders: int, seed: int = 18) -> float:
    """Insert the orders in bulk (the ORM, no per-order checks); returns seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    with database.transaction() as session:
        users = [
            store.ensure_user(session, f"customer{i:03d}", role=Role.CUSTOMER) for i in range(100)
        ]
        contents = [
            store.add_content(
                session,
                title=f"Archive volume {i:02d} {rng.choice(['maps', 'minutes', 'films', 'audio'])}",
                sha256=f"{i:064x}",
                size_bytes=100_000_000 + i,
            )
            for i in range(50)
        ]
        for name in DEVICES:
            store.register_device(
                session,
                name=name,
                driver="sim",
                address="http://127.0.0.1:9",
                actor="bench",
                agent_token=name,
            )
        session.flush()
        user_ids = [u.id for u in users]
        content_ids = [c.id for c in contents]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 1000
    for first in range(0, orders, batch):
        with database.transaction() as session:
            jobs: list[Job] = []
            for n in range(first, min(orders, first + batch)):
                order_id = f"ORD-B{n:09d}"
                placed = start + timedelta(minutes=30 * n / max(1, orders // 10_000))
                session.add(
                    Order(
                        id=order_id,
                        user_id=rng.choice(user_ids),
                        source="api",
                        created_at=placed,
                        ship_to={
                            "name": "A",
                            "lines": ["1 St"],
                            "city": "C",
                            "postal_code": "1",
                            "country": "GB",
                        },
                    )
                )
                for position in range(rng.choice((1, 1, 2))):
                    request_id = f"REQ-B{n:09d}{position}"
                    state = rng.choice(STATES)
                    session.add(
                        Request(
                            id=request_id,
                            order_id=order_id,
                            position=position,
                            content_id=rng.choice(content_ids),
                            media="CD-R",
                            copies=5,
                            good_copies=5 if state == "done" else 0,
                            state=state,
                            created_at=placed,
                        )
                    )
                    if n % 3 == 0:
                        jobs.append(
                            Job(
                                id=f"JOB-B{n:09d}{position}",
                                request_id=request_id,
                                device=rng.choice(DEVICES),
                                media="CD-R",
                                copies=5,
                                state="done" if state == "done" else "queued",
                                created_at=placed,
                            )
                        )
            session.flush()  # requests first: a job's row points at its request
            session.add_all(jobs)
    return time.perf_counter() - started


def _time(run: Callable[[], Any], repeat: int) -> dict[str, Any]:
    run()  # warm-up: plans and caches, as on a page already open
    walls, cpus = [], []
    result: Any = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    return {
        "wall_ms_median": round(statistics.median(walls), 2),
        "wall_ms_p95": round(walls[max(0, int(len(walls) * 0.95) - 1)], 2),
        "client_cpu_ms_per_query": round(statistics.mean(cpus), 2),
        "matches": result if isinstance(result, int) else None,
    }


def cases(database: Database, repeat: int) -> dict[str, dict[str, Any]]:
    operator = Principal(user_id=None, name="otto", role=Role.OPERATOR)
    with database.transaction() as session:
        customer = session.query(User).filter(User.name == "customer007").one()
        me = Principal(user_id=customer.id, name=customer.name, role=Role.CUSTOMER)

    def search(given: OrderFilter, who: Principal = operator) -> Callable[[], int]:
        def run() -> int:
            with database.transaction() as session:
                return search_orders(session, given, who)[1]

        return run

    def baseline() -> int:
        with database.transaction() as session:
            return len(store.list_orders(session, operator, limit=50))

    def export() -> int:
        with database.transaction() as session:
            body = orders_csv(all_matching(session, OrderFilter(content="films"), operator), {})
            return body.count("\n") - 1

    plan: dict[str, Callable[[], int]] = {
        "baseline_list_orders_newest_50": baseline,
        "all_page_1": search(OrderFilter()),
        "all_page_100": search(OrderFilter(page=100)),
        "order_id_part": search(OrderFilter(text="b0000042")),
        "customer": search(OrderFilter(customer="customer042")),
        "state_in_progress": search(OrderFilter(state="in-progress")),
        "content_title": search(OrderFilter(content="films")),
        "device": search(OrderFilter(device="pub-2")),
        "date_range": search(OrderFilter(since=date(2026, 2, 1), until=date(2026, 2, 28))),
        "combined": search(
            OrderFilter(
                customer="customer0",
                state="done",
                content="maps",
                device="sim-1",
                since=date(2026, 1, 15),
            )
        ),
        "customer_own_orders": search(OrderFilter(), me),
        "csv_export_content_films": export,
    }
    return {name: _time(run, repeat) for name, run in plan.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        private_database(
            args.database, Path(folder), PG_SERVER, prefix="discflow_bench_search"
        ) as url,
    ):
        database = Database(url)
        try:
            database.migrate()
            filled_s = fill(database, args.orders)
            with database.transaction() as session:
                requests = session.query(Request).count()
                jobs = session.query(Job).count()
            report = {
                "benchmark": "order search",
                "database": args.database,
                "orders": args.orders,
                "requests": requests,
                "jobs": jobs,
                "fill_s": round(filled_s, 1),
                "repeat": args.repeat,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "cases": cases(database, args.repeat),
            }
        finally:
            database.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

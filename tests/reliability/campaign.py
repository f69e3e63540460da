"""The seeded fault campaign: many requests through separate processes, faults
injected at random but reproducible points, then the checker's verdict.

Run the full size with ``make reliability`` or
``python -m tests.reliability.campaign --requests 2000 --seed 1``; the pytest
test in ``test_campaign.py`` runs a CI-sized one.

Invariants of the run itself: the fault schedule (which fault, after which
order, on which agent) depends only on the seed and the size; a client that
sees a transport error or a 5xx retries its POST with the same
``Idempotency-Key`` (as a real client must), so a crash between commit and
answer never makes a second order; orders are placed as work drains (a window
of open requests), so faults land while discs are burning, not before.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Role
from tests.reliability.checker import Verdict, check, secrets_in_logs
from tests.reliability.faults import FAULT_TYPES, hold_database_lock
from tests.reliability.hostile import HostileMix, TdBridgeStandin, check_mix, place_mix, td_spec
from tests.reliability.proxy import FaultProxy
from tests.utils.factories import address
from tests.utils.processes import Service, free_port
from tests.utils.system import FINAL_REQUEST_STATES, agent_token, ingest_contents, server_env

# image writers sit behind fault proxies; img-b's cache holds about two contents
_PROXIED = ("img-a", "img-b")
_CONTENT_SIZES = [150_000 + 90_000 * i for i in range(10)]  # about 150 kB .. 1 MB
_OFFLINE_S, _GRACE_S = 3.0, 4.0


def devices(requests: int, seed: int) -> tuple[DeviceSpec, ...]:
    blanks = max(100, requests * 2)
    fast = {"time_scale": 0.05, "seed": seed}
    return (
        DeviceSpec(
            "img-a",
            "image",
            2,
            {
                "CD-R": MediaSpec(blanks, 7_800_000, 0.0, 5),
                "DVD-R": MediaSpec(blanks, 21_600_000, 0.0, 5),
            },
        ),
        DeviceSpec(
            "img-b",
            "image",
            1,
            {"CD-R": MediaSpec(blanks, 5_000_000, 0.0, 5)},
            cache_bytes=2_400_000,
        ),
        DeviceSpec(
            "sim-c",
            "sim",
            2,
            {
                "CD-R": MediaSpec(blanks, 7_800_000, 2.0, 5),
                "DVD-R": MediaSpec(blanks, 21_600_000, 2.0, 5),
            },
            options={**fast, "failure_rate": 0.15},
        ),
        DeviceSpec(
            "sim-d",
            "sim",
            2,
            {"DVD-R": MediaSpec(blanks, 21_600_000, 2.0, 5)},
            options=fast,
        ),
    )


@dataclass(frozen=True, slots=True)
class Fault:
    after_order: int
    kind: str
    target: str
    pause_s: float


def schedule(*, orders: int, faults: int, seed: int) -> list[Fault]:
    """Which fault after which order; every fault type appears at least once."""
    rng = random.Random(seed)
    kinds = [FAULT_TYPES[i % len(FAULT_TYPES)] for i in range(faults)]
    rng.shuffle(kinds)
    points = sorted(rng.sample(range(1, max(orders, faults + 1)), faults))
    agents = ["img-a", "img-b", "sim-c", "sim-d"]
    plan = []
    for point, kind in zip(points, kinds, strict=True):
        target = rng.choice(_PROXIED if kind in ("cut-transfer", "corrupt-byte") else agents)
        plan.append(Fault(point, kind, target, round(rng.uniform(0.3, 2.0), 2)))
    return plan


@dataclass
class Tally:
    injected: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)
    worst_recovery_s: dict[str, float] = field(default_factory=dict)
    client_retries: int = 0


class Campaign:
    def __init__(
        self, root: Path, *, requests: int, seed: int, database_url: str, hostile: bool = True
    ) -> None:
        self.root = root
        self.with_hostile_mix = hostile
        self.requests = requests
        self.seed = seed
        self.database_url = database_url
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.placed: dict[str, tuple[str, int]] = {}
        self.orders_placed = 0
        self.proxies: dict[str, FaultProxy] = {}
        self.td_jobs = root / "tdbridge"
        self.standin = TdBridgeStandin(self.td_jobs, max(100, requests), root / "tdbridge.log")
        self.hostile: HostileMix | None = None

    # -- the world ---------------------------------------------------------------

    def _build(self) -> None:
        data = self.root / "data"
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.labels = self.root / "labels"
        env = server_env(data=data, database_url=self.database_url, labels=self.labels)
        self.database = Database(self.database_url)
        self.database.migrate()
        self.blobs = BlobStore(data / "archive")
        self.contents = ingest_contents(
            self.database, self.blobs, self.root / "trees", sizes=_CONTENT_SIZES, seed=self.seed
        )
        with self.database.transaction() as session:
            self.customer = {
                "Authorization": "Bearer "
                + store.create_token(
                    session, store.ensure_user(session, "cara", role=Role.CUSTOMER)
                )
            }
            self.operator = {
                "Authorization": "Bearer "
                + store.create_token(
                    session, store.ensure_user(session, "otto", role=Role.OPERATOR)
                )
            }
        self.fleet = Fleet(self.database, self.root / "agents", server_url=self.base)
        # the hostile mix's device: see tests/reliability/hostile.py
        self.standin.start()
        for spec in (
            *devices(self.requests, self.seed),
            td_spec(self.td_jobs, max(100, self.requests)),
        ):
            agent = self.fleet.add(spec)
            if spec.name in _PROXIED:
                proxy = FaultProxy(int(agent.url.rsplit(":", 1)[1]))
                self.proxies[spec.name] = proxy
                with self.database.transaction() as session:
                    store.get_device(session, spec.name).address = proxy.url
        health = f"{self.base}/api/v1/health"
        self.server = Service(
            ["serve", "--port", str(port)], env, log=self.root / "serve.log", ready_url=health
        )
        self.dispatcher = Service(
            ["dispatch", "--name", "d1"], env, log=self.root / "dispatch.log", ready_url=health
        )
        self.server.start()
        self.dispatcher.start()
        for name in self.fleet.agents:
            self.fleet.start(name)
        self.fleet.wait_ready()

    def _teardown(self) -> None:
        self.fleet.stop_all()
        self.standin.stop()
        self.dispatcher.stop()
        self.server.stop()
        for proxy in self.proxies.values():
            proxy.close()
        self.database.dispose()

    # -- the client --------------------------------------------------------------

    def _post_order(self, lines: list[dict[str, Any]], key: str) -> dict[str, Any]:
        deadline = time.monotonic() + 180
        while True:
            try:
                response = httpx.post(
                    f"{self.base}/api/v1/orders",
                    headers={**self.customer, "Idempotency-Key": key},
                    json={"requests": lines, "ship_to": address()},
                    timeout=40,
                )
                if response.status_code == 201:
                    body: dict[str, Any] = response.json()
                    return body
                if response.status_code < 500:
                    raise AssertionError(f"order refused: {response.status_code} {response.text}")
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the server did not take an order for 180 s")
            self.tally.client_retries += 1
            time.sleep(0.3)

    def _open_and_good(self) -> tuple[int, int]:
        """(requests not yet final, good discs so far), read from the store."""
        with self.database.transaction() as session:
            open_count = session.scalar(
                select(func.count())
                .select_from(store.Request)
                .where(store.Request.state.not_in(FINAL_REQUEST_STATES))
            )
            good = session.scalar(select(func.coalesce(func.sum(store.Request.good_copies), 0)))
        return int(open_count or 0), int(good or 0)

    # -- faults ------------------------------------------------------------------

    def _inject(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "kill-server":
            self.server.kill()
            time.sleep(fault.pause_s)
            self.server.start()
        elif kind == "kill-dispatcher":
            self.dispatcher.kill()
            time.sleep(fault.pause_s)
            self.dispatcher.start()
        elif kind in ("kill-agent", "agent-offline-past-grace"):
            self.fleet.kill(fault.target)
            down = fault.pause_s if kind == "kill-agent" else _OFFLINE_S + _GRACE_S + 3.0
            time.sleep(down)
            self.fleet.start(fault.target)
            self.fleet.wait_ready()
        elif kind in ("cut-transfer", "corrupt-byte"):
            self._spoil_upload(fault)
        elif kind == "database-locked":
            hold_database_lock(self.database_url, seconds=2.0 + fault.pause_s)
        self.tally.injected[kind] += 1

    def _spoil_upload(self, fault: Fault) -> None:
        """Arm the proxy, then make an upload happen: evict an idle content from the cache."""
        proxy = self.proxies[fault.target]
        (proxy.cut if fault.kind == "cut-transfer" else proxy.flip)()
        agent = self.fleet.agents[fault.target]
        headers = {"Authorization": f"Bearer {agent_token(self.database, fault.target)}"}
        cached = httpx.get(f"{agent.url}/v1/cache", headers=headers, timeout=10).json()
        for entry in cached:
            httpx.delete(f"{agent.url}/v1/cache/{entry['sha256']}", headers=headers, timeout=10)

    # -- the run -----------------------------------------------------------------

    def run(self, *, window: int = 40, drain_s: float = 900.0) -> Verdict:
        self._build()
        try:
            return self._run(window=window, drain_s=drain_s)
        finally:
            self._teardown()

    def _run(self, *, window: int, drain_s: float) -> Verdict:
        per_order = 5
        orders = -(-self.requests // per_order)
        faults = schedule(orders=orders, faults=max(len(FAULT_TYPES), orders // 8), seed=self.seed)
        pending = list(faults)
        watching: list[tuple[Fault, float, int]] = []  # fault, ended at, good discs then
        started = time.monotonic()
        for index in range(orders):
            count = min(per_order, self.requests - index * per_order)
            lines = [
                {
                    "content_id": self.rng.choice(self.contents).id,
                    "media": self.rng.choice(["CD-R", "DVD-R"]),
                    "copies": self.rng.randint(1, 3),
                }
                for _ in range(count)
            ]
            sha = {c.id: c.sha256 for c in self.contents}
            order = self._post_order(lines, key=f"campaign-{self.seed}-{index}")
            self.orders_placed += 1
            for request in order["requests"]:
                self.placed[request["id"]] = (sha[request["content_id"]], request["copies"])
            if index == orders // 3 and self.with_hostile_mix:
                self._place_hostile_mix()
            while pending and pending[0].after_order <= index:
                fault = pending.pop(0)
                self._inject(fault)
                watching.append((fault, time.monotonic(), self._open_and_good()[1]))
            self._wait_window(window, watching)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            open_count, _ = self._open_and_good()
            self._note_recoveries(watching)
            if open_count == 0 or self._only_waiting_with_reason():
                break
            time.sleep(0.5)
        self._note_recoveries(watching)
        time.sleep(3.0)  # labels of the last requests print on the planner's next round
        self.elapsed_s = time.monotonic() - started
        verdict = check(
            database=self.database,
            placed=self.placed,
            orders_placed=self.orders_placed,
            fleet=self.fleet,
            archive=self.root / "data" / "archive",
            labels=self.labels,
        )
        tokens = [h["Authorization"].split()[1] for h in (self.customer, self.operator)]
        tokens += [agent_token(self.database, name) for name in self.fleet.agents]
        verdict.problems += secrets_in_logs(self.root, tokens)
        if self.hostile is not None:
            verdict.problems += check_mix(
                self.hostile, database=self.database, root=self.root, jobs_dir=self.td_jobs
            )
        return verdict

    def _place_hostile_mix(self) -> None:
        def post(lines: list[dict[str, Any]], key: str) -> dict[str, Any]:
            self.orders_placed += 1
            return self._post_order(lines, key=f"campaign-{self.seed}-{key}")

        ordinary = self.contents[0]
        self.hostile = place_mix(
            base=self.base,
            operator=self.operator,
            database=self.database,
            blobs=self.blobs,
            root=self.root,
            ordinary=(ordinary.id, ordinary.sha256),
            post_order=post,
        )
        self.placed.update(self.hostile.placed)

    def _wait_window(self, window: int, watching: list[tuple[Fault, float, int]]) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            self._note_recoveries(watching)
            if self._open_and_good()[0] < window:
                return
            time.sleep(0.2)
        raise AssertionError(f"no progress for 300 s; see {self.root}")

    def _note_recoveries(self, watching: list[tuple[Fault, float, int]]) -> None:
        if not watching:
            return
        _, good = self._open_and_good()
        now = time.monotonic()
        for item in list(watching):
            fault, ended, good_then = item
            if good > good_then:
                self.tally.recovered[fault.kind] += 1
                worst = self.tally.worst_recovery_s.get(fault.kind, 0.0)
                self.tally.worst_recovery_s[fault.kind] = max(worst, now - ended)
                watching.remove(item)

    def _only_waiting_with_reason(self) -> bool:
        with self.database.transaction() as session:
            rows = session.execute(
                select(store.Request.state, store.Request.reason).where(
                    store.Request.state.not_in(FINAL_REQUEST_STATES)
                )
            ).all()
        return all(state == "queued" and reason for state, reason in rows)

    # -- the report --------------------------------------------------------------

    def table(self, verdict: Verdict) -> str:
        spoiled = Counter[str]()
        for proxy in self.proxies.values():
            spoiled["cut-transfer"] += proxy.spoiled.cuts
            spoiled["corrupt-byte"] += proxy.spoiled.flips
        failed_sim = verdict.failed_discs
        rows = ["| fault | injected | recovered | worst recovery (s) |", "|---|---:|---:|---:|"]
        for kind in FAULT_TYPES:
            shown = str(self.tally.injected[kind])
            if kind in spoiled:
                shown += f" ({spoiled[kind]} uploads spoiled)"
            rows.append(
                f"| {kind} | {shown} | {self.tally.recovered[kind]} | "
                f"{self.tally.worst_recovery_s.get(kind, 0.0):.1f} |"
            )
        rows.append(
            f"| failed discs (sim-c's 15 % failing drives, discs in a drive at a kill) | "
            f"{failed_sim} discs | {failed_sim} redone | - |"
        )
        rows.append("| agent cache too small (img-b holds ~2 contents) | always on | - | - |")
        states = ", ".join(f"{k} {v}" for k, v in sorted(verdict.states.items()))
        summary = [
            "",
            "| result | value |",
            "|---|---:|",
            f"| requests placed | {verdict.requests} ({self.orders_placed} orders) |",
            f"| final states | {states} |",
            f"| good discs / failed discs | {verdict.good_discs} / {verdict.failed_discs} |",
            f"| lost | {verdict.lost} |",
            f"| doubled | {verdict.doubled} |",
            f"| surplus discs (device back after its jobs moved) | {verdict.surplus} |",
            "| good discs counted spoilt (agent killed right after read-back) | "
            f"{verdict.good_counted_failed} |",
            f"| media reconciled | {verdict.devices_reconciled} of {verdict.devices_checked} "
            "devices |",
            f"| client retries (5xx / connection refused) | {self.tally.client_retries} |",
            f"| invariant violations | {len(verdict.problems)} |",
            f"| wall time | {getattr(self, 'elapsed_s', 0.0):.0f} s |",
        ]
        return "\n".join(rows + summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    parser.add_argument(
        "--no-hostile", action="store_true", help="leave out the hostile image and wedging job"
    )
    args = parser.parse_args(argv)
    # a SIGTERM (make, CI timeout) must still stop the processes the run started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="discflow-campaign-"))
    # this process seals the agents' tokens; the server and dispatchers must open them
    os.environ.setdefault("DISCFLOW_SECRET_KEY", secrets.token_hex(32))
    url = args.database_url or f"sqlite:///{root / 'discflow.db'}"
    campaign = Campaign(
        root,
        requests=args.requests,
        seed=args.seed,
        database_url=url,
        hostile=not args.no_hostile,
    )
    verdict = campaign.run(drain_s=max(900.0, args.requests * 1.0))
    print(f"fault campaign: {args.requests} requests, seed {args.seed}, {url.split(':')[0]}")
    print(campaign.table(verdict))
    for problem in verdict.problems[:50]:
        print("PROBLEM:", problem)
    if not args.keep and verdict.ok:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"run folder kept: {root}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""A busy floor built from real records: devices through heartbeats, orders through
``place_order``, jobs through ``create_job``, notices through the dispatcher's floor watch.

The scene the console must read at a glance: pub-1 burning two orders, pub-2 a
Primera stopped with its cover open (a robot error among its reasons), sim-1
out of CD-R while CD-R requests wait, 20 jobs queued across them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discflow import store
from discflow.dispatcher._floor import Floor
from discflow.dispatcher._settings import DispatcherSettings
from discflow.domain import Address, DispatchState, Priority, RequestState
from discflow.protocol import AgentStatus
from discflow.store import Database, OrderLine, Role
from tests.utils.factories import make_content

POLICY = store.SettlePolicy(max_failed_discs=5, printer="folder:labels", label_sheet="4x6")
SHIP = Address(
    name="Ada Lovelace",
    lines=("12 St James's Square",),
    city="London",
    postal_code="SW1Y 4JH",
    country="GB",
)


@dataclass
class Scene:
    orders: list[str] = field(default_factory=list)
    jobs: dict[str, list[str]] = field(default_factory=dict)


def heartbeat(
    database: Database,
    name: str,
    *,
    driver: str = "image",
    availability: str = "online",
    drives: list[dict[str, Any]] | None = None,
    media: dict[str, int] | None = None,
    reasons: list[dict[str, str]] | None = None,
    ink: dict[str, int] | None = None,
) -> None:
    """Register ``name`` if needed and apply one heartbeat (reasons as the agent's
    status carries them)."""
    with database.transaction() as session:
        if session.get(store.Device, name) is None:
            store.register_device(
                session,
                name=name,
                driver=driver,
                address="http://127.0.0.1:9",
                actor="t",
                agent_token=f"token-{name}",
            )
            session.flush()
        report = AgentStatus.model_validate(
            {
                "name": name,
                "driver": driver,
                "availability": availability,
                "drives": drives or [{"index": 0, "state": "idle"}],
                "media": [
                    {
                        "media": m,
                        "loaded": n,
                        "write_Bps": 1_000_000,
                        "overhead_s": 30,
                        "low_threshold": 10,
                        "loaded_total": max(n, 100),
                    }
                    for m, n in (media or {"CD-R": 80}).items()
                ],
                "cache": [],
                "cache_capacity_bytes": 10_000_000_000,
                "cache_free_bytes": 6_000_000_000,
                "reasons": reasons or [],
            }
        )
        device = store.get_device(session, name)
        store.apply_heartbeat(session, device, report)
        if ink is not None:  # no agent reports levels yet: as a robot's status would carry them
            device.status = {**device.status, "ink": ink}


def place(
    database: Database,
    customer: str,
    content: str,
    *,
    media: str = "CD-R",
    copies: int = 5,
    priority: Priority = Priority.NORMAL,
) -> tuple[str, str]:
    """An order of one request; returns (order id, request id)."""
    with database.transaction() as session:
        user = store.ensure_user(session, customer, role=Role.CUSTOMER)
        principal = store.Principal(user_id=user.id, name=user.name, role=Role.CUSTOMER)
        placed = store.place_order(
            session, principal, [OrderLine(content, media, copies)], SHIP, priority=priority
        )
        request = placed.order.requests[0]
        return placed.order.id, request.id


def assign(database: Database, request_id: str, device: str, *, state: str = "queued") -> str:
    with database.transaction() as session:
        request = store.get_request(session, request_id)
        job = store.create_job(
            session, request, device=device, copies=request.copies, owner="t", lease_s=3600
        )
        session.flush()  # the row's defaults (0 discs so far) are the database's
        if state != "pending":
            store.update_job(
                session,
                job,
                state=DispatchState(state),
                counts=store.CopyCounts(0, 0, state == "running", False),
            )
        if state == "running":
            store.transition_request(session, request, RequestState.BURNING)
        return job.id


def watch(database: Database) -> None:
    """One round of the dispatcher's floor watch (offline devices, media notices)."""
    Floor(database, DispatcherSettings(heartbeat_offline_s=3600), POLICY).watch()


def busy_floor(database: Database) -> Scene:
    scene = Scene()
    dawn = make_content(database, "Dawn Chorus Field Recordings", 400_000_000)
    minutes = make_content(database, "Council Minutes 1950-1959", 600_000_000)
    films = make_content(database, "Harbour Films 1962", 3_000_000_000)
    heartbeat(
        database,
        "pub-1",
        drives=[{"index": 0, "state": "idle"}, {"index": 1, "state": "idle"}],
        media={"CD-R": 64, "DVD-R": 8},
    )
    heartbeat(
        database,
        "pub-2",
        driver="ptburn",
        availability="error",
        drives=[{"index": 0, "state": "idle"}, {"index": 1, "state": "idle"}],
        media={"CD-R": 45, "DVD-R": 30},
        reasons=[
            {
                "reason": "cover-open",
                "severity": "error",
                "message": "Close the robot's cover to go on (PTBurn error 0x0C)",
            },
            {
                "reason": "marker-supply-low",
                "severity": "warning",
                "message": "cyan cartridge below 15%",
                "detail": "cyan",
            },
        ],
        ink={"cyan": 12, "magenta": 58, "yellow": 71, "black": 40},
    )
    heartbeat(
        database,
        "sim-1",
        driver="sim",
        drives=[{"index": i, "state": "idle"} for i in range(4)],
        media={"CD-R": 0, "DVD-R": 90},
    )
    plan = (
        [("pub-1", dawn, "CD-R")] * 7
        + [("pub-2", minutes, "CD-R")] * 6
        + [("sim-1", films, "DVD-R")] * 7
    )
    for i, (device, content, media) in enumerate(plan):
        urgency = {6: Priority.RUSH, 10: Priority.RUSH, 12: Priority.LOW}.get(i, Priority.NORMAL)
        order_id, request_id = place(
            database, f"cust{i % 5}", content, media=media, copies=3 + i % 4, priority=urgency
        )
        state = "running" if i in (0, 1, 13) else "queued"
        scene.orders.append(order_id)
        scene.jobs.setdefault(device, []).append(assign(database, request_id, device, state=state))
    # CD-R waiting that only sim-1 could take now (pub-2 is stopped, pub-1 is full)
    for _ in range(2):
        scene.orders.append(place(database, "cust9", dawn, copies=10)[0])
    running = scene.jobs["pub-1"][:2]
    heartbeat(
        database,
        "pub-1",
        media={"CD-R": 64, "DVD-R": 8},
        drives=[
            {"index": 0, "state": "writing", "progress": 0.42, "job_id": running[0]},
            {"index": 1, "state": "verifying", "progress": 0.9, "job_id": running[1]},
        ],
    )
    heartbeat(
        database,
        "sim-1",
        driver="sim",
        media={"CD-R": 0, "DVD-R": 90},
        drives=[
            {"index": 0, "state": "writing", "progress": 0.1, "job_id": scene.jobs["sim-1"][0]},
            *({"index": i, "state": "idle"} for i in range(1, 4)),
        ],
    )
    watch(database)
    return scene

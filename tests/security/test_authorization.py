"""Who may call what: every server endpoint against six callers.

The endpoints are enumerated from ``app.routes``; an endpoint missing from
``EXPECTED`` fails the test, so a new route cannot ship without a decision.
"Denied" means 401, 403 or 404; "allowed" means the call got past authorization (any
answer but those three, and never a 5xx except the documented 503 of a device
whose agent is not running).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from discflow import store
from discflow.archive import BlobStore
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.factories import address, make_token
from tests.utils.system import ingest_contents

CALLERS = ("anonymous", "customer_a", "customer_b", "operator", "admin", "agent")
USERS = frozenset({"customer_a", "customer_b", "operator", "admin"})
STAFF = frozenset({"operator", "admin"})
OWNER = frozenset({"customer_a", "operator", "admin"})  # of customer A's order
ALL = frozenset(CALLERS)

# (method, path template) -> callers allowed past authorization
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/health"): ALL,
    ("GET", "/metrics"): STAFF,  # opt-in public (DISCFLOW_METRICS_PUBLIC), else an operator's
    ("POST", "/api/v1/orders"): USERS,
    ("GET", "/api/v1/orders"): USERS,
    ("GET", "/api/v1/orders/{order_id}"): OWNER,
    ("POST", "/api/v1/orders/{order_id}/cancel"): OWNER,
    ("POST", "/api/v1/orders/{order_id}/hold"): OWNER,
    ("POST", "/api/v1/orders/{order_id}/release"): OWNER,
    ("POST", "/api/v1/orders/{order_id}/labels"): STAFF,
    ("GET", "/api/v1/contents"): USERS,
    ("POST", "/api/v1/contents"): STAFF,
    ("GET", "/api/v1/contents/{content_id}"): USERS,
    ("GET", "/api/v1/contents/{content_id}/image"): STAFF | {"agent"},
    ("GET", "/api/v1/devices"): USERS,
    ("POST", "/api/v1/devices"): STAFF,
    ("GET", "/api/v1/devices/{name}"): USERS,
    ("POST", "/api/v1/devices/{name}/heartbeat"): frozenset({"agent"}),
    ("POST", "/api/v1/devices/{name}/media"): STAFF,
    ("POST", "/api/v1/devices/{name}/pause"): STAFF,
    ("POST", "/api/v1/devices/{name}/resume"): STAFF,
    ("GET", "/api/v1/events"): OWNER | {"customer_b"},  # B: own orders only, see below
    ("GET", "/api/v1/notices"): STAFF,
    ("POST", "/api/v1/notices/{notice_id}/acknowledge"): STAFF,
    # public, but the one-time code decides: a wrong code is refused for everybody
    ("POST", "/api/v1/agents/enrol"): frozenset(),
}
# answers that mean "allowed, but the device's agent is not running here"
DEVICE_DOWN_OK = {("POST", "/api/v1/devices/{name}/media")}


@dataclass
class World:
    client: TestClient
    headers: dict[str, dict[str, str]]
    order_id: str
    content_id: str
    device: str
    notice_id: int


@pytest.fixture
def world(settings: Settings, database: Database, tmp_path: Path) -> Iterator[World]:
    tokens = {
        "customer_a": make_token(database, "alice", Role.CUSTOMER),
        "customer_b": make_token(database, "bob", Role.CUSTOMER),
        "operator": make_token(database, "otto", Role.OPERATOR),
        "admin": make_token(database, "ada", Role.ADMIN),
    }
    blobs = BlobStore(settings.archive_dir)
    content = ingest_contents(database, blobs, tmp_path, sizes=[20_000], seed=1)[0].id
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://127.0.0.1:9",
            actor="test",
            agent_token="dfa_agent_secret_pub1",
        )
        notice = store.raise_notice(session, "media-low", "Load CD-R", severity="warning")
        session.flush()
        notice_id = notice.id
    tokens["agent"] = "dfa_agent_secret_pub1"
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    headers["anonymous"] = {}
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    with TestClient(app) as client:
        placed = client.post(
            "/api/v1/orders",
            json={
                "requests": [{"content_id": content, "media": "CD-R", "copies": 1}],
                "ship_to": address(),
            },
            headers=headers["customer_a"],
        )
        assert placed.status_code == 201, placed.text
        yield World(client, headers, placed.json()["id"], content, "pub-1", notice_id)


def _call(world: World, method: str, template: str, caller: str) -> int:
    path = template.format(
        order_id=world.order_id,
        content_id=world.content_id,
        name=world.device,
        notice_id=world.notice_id,
    )
    headers = dict(world.headers[caller])
    params: dict[str, str] = {}
    body: object = None
    content: bytes | None = None
    if template == "/api/v1/orders" and method == "POST":
        body = {
            "requests": [{"content_id": world.content_id, "media": "CD-R", "copies": 1}],
            "ship_to": address(),
        }
    elif template == "/api/v1/contents" and method == "POST":
        params = {"title": "Not an image"}
        content = b"this is not an ISO image" * 100
        headers["Content-Type"] = "application/octet-stream"
    elif template == "/api/v1/devices" and method == "POST":
        body = {"name": f"new-{caller}", "driver": "image", "address": "http://127.0.0.1:9"}
    elif template.endswith("/heartbeat"):
        body = {
            "name": world.device,
            "driver": "image",
            "availability": "online",
            "drives": [],
            "media": [],
            "cache": [],
            "cache_capacity_bytes": 0,
            "cache_free_bytes": 0,
        }
    elif template.endswith("/media"):
        body = {"media": "CD-R", "count": 10}
    elif template == "/api/v1/events":
        params = {"order_id": world.order_id}
    elif template == "/api/v1/agents/enrol":
        body = {"code": "not-the-code", "name": world.device}
    response = world.client.request(
        method, path, headers=headers, params=params, json=body, content=content
    )
    return response.status_code


def _routes() -> list[tuple[str, str]]:
    """Every operation: the OpenAPI paths (FastAPI 0.16x includes routers lazily, so
    ``app.routes`` holds them behind private wrappers) plus top-level ``app.routes``."""
    app = create_app(Settings(database_url="sqlite://", run_dispatcher=False))
    found = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:
        if isinstance(route, APIRoute):
            found |= {(m, route.path) for m in route.methods - {"HEAD", "OPTIONS"}}
    return sorted(found)


def test_every_endpoint_has_an_authorization_decision() -> None:
    missing = sorted(set(_routes()) - set(EXPECTED))
    assert not missing, f"add these endpoints to EXPECTED with who may call them: {missing}"
    stale = sorted(set(EXPECTED) - set(_routes()))
    assert not stale, f"EXPECTED lists endpoints that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "template"), sorted(EXPECTED))
def test_authorization_matrix(world: World, method: str, template: str) -> None:
    outcomes = {}
    for caller in CALLERS:
        status = _call(world, method, template, caller)
        assert status < 500 or (status == 503 and (method, template) in DEVICE_DOWN_OK), (
            f"{method} {template} as {caller}: {status}"
        )
        outcomes[caller] = status
    allowed = {c for c, s in outcomes.items() if s not in (401, 403, 404)}
    if template == "/api/v1/events":
        # B may read the task log of B's own orders, never of A's (asked for here)
        assert outcomes["customer_b"] == 404, outcomes
        assert allowed == EXPECTED[(method, template)] - {"customer_b"}, outcomes
        return
    assert allowed == EXPECTED[(method, template)], outcomes
    assert outcomes["anonymous"] in (401, 403) or "anonymous" in allowed, outcomes


def test_another_customers_order_gives_nothing_away(world: World) -> None:
    """B is refused A's order with the same 404 a made-up id gets (so ids cannot be
    probed), the refusal carries none of the order's data; B's list does not show it."""
    theirs = world.client.get(
        f"/api/v1/orders/{world.order_id}", headers=world.headers["customer_b"]
    )
    assert theirs.status_code == 404
    assert set(theirs.json()) == {"detail"}
    assert theirs.json()["detail"] == f"no order with id {world.order_id!r}"
    assert "Lovelace" not in theirs.text and world.content_id not in theirs.text
    listed = world.client.get("/api/v1/orders", headers=world.headers["customer_b"]).json()
    assert world.order_id not in {o["id"] for o in listed}


def test_heartbeat_for_another_device_is_refused(world: World, database: Database) -> None:
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-2",
            driver="image",
            address="http://127.0.0.1:9",
            actor="test",
            agent_token="dfa_agent_secret_pub2",
        )
    status = _call(world, "POST", "/api/v1/devices/{name}/heartbeat", "agent")
    assert status == 204
    world.device = "pub-2"  # pub-1's token speaking for pub-2
    assert _call(world, "POST", "/api/v1/devices/{name}/heartbeat", "agent") == 403

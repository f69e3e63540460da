"""Factories for test data: users with tokens, catalog entries, addresses, devices."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from discflow import store
from discflow.domain import Address
from discflow.protocol import AgentStatus
from discflow.store import Database, OrderLine, Principal, Request, Role


def make_token(database: Database, user: str, role: Role = Role.CUSTOMER) -> str:
    with database.transaction() as session:
        account = store.ensure_user(session, user, role=role)
        return store.create_token(session, account)


def make_content(
    database: Database,
    title: str,
    size_bytes: int,
    *,
    description: str = "",
    tags: tuple[str, ...] = (),
) -> str:
    """A catalog entry (no image bytes behind it: enough for ordering tests)."""
    with database.transaction() as session:
        content = store.add_content(
            session,
            title=title,
            sha256=hashlib.sha256(title.encode()).hexdigest(),
            size_bytes=size_bytes,
            description=description,
            tags=tags,
        )
        return content.id


def address(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Ada Lovelace",
        "lines": ["12 St James's Square"],
        "city": "London",
        "region": None,
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    }
    base.update(changes)
    return base


def place_request(session: Session, content_id: str, copies: int, media: str = "CD-R") -> Request:
    """One customer order of one request (to Ada in London), in the caller's transaction."""
    user = store.ensure_user(session, "cara", role=Role.CUSTOMER)
    placed = store.place_order(
        session,
        Principal(user_id=user.id, name=user.name, role=Role.CUSTOMER),
        [OrderLine(content_id, media, copies)],
        Address(name="Ada", lines=("1 Rd",), city="London", postal_code="N1", country="GB"),
    )
    return placed.order.requests[0]


def online_sim_device(
    database: Database, name: str, *, media: str, port: int, site: str = "main", drives: int = 1
) -> None:
    """A registered sim device with ``drives`` idle drives, 50 blanks of ``media`` and an
    empty 10 GB cache, as its first heartbeat says (no agent runs behind ``port``)."""
    report = AgentStatus.model_validate(
        {
            "name": name,
            "driver": "sim",
            "availability": "online",
            "drives": [{"index": i, "state": "idle"} for i in range(drives)],
            "media": [{"media": media, "loaded": 50, "write_Bps": 1_000_000, "loaded_total": 50}],
            "cache": [],
            "cache_capacity_bytes": 10_000_000_000,
            "cache_free_bytes": 10_000_000_000,
            "reasons": [],
        }
    )
    with database.transaction() as session:
        store.register_device(
            session,
            name=name,
            driver="sim",
            address=f"http://127.0.0.1:{port}",
            actor="test",
            agent_token=f"dfa_{name}",
            site=site,
        )
        session.flush()
        store.apply_heartbeat(session, store.get_device(session, name), report)

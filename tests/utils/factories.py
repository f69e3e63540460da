"""Factories for test data: users with tokens, catalog entries, addresses."""

from __future__ import annotations

import hashlib
from typing import Any

from discflow import store
from discflow.store import Database, Role


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

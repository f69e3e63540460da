"""The API's hot path: orders as set-based statements, principals and catalog rows cached.

Invariants:
- An order placed here writes the rows ``place_order`` writes (the order, its requests,
  ``order.received`` and one ``request.queued`` per request, the idempotency key) in one
  transaction: one statement on PostgreSQL (see ``_hot_pg``), one short transaction on
  SQLite (see ``_hot_sqlite``), both answered without reading anything back.
- When the Idempotency-Key is already taken, nothing is written here and ``place_order``
  decides (replay, or refuse a different body), exactly as before.
- Validation is ``place_order``'s own (``check_order_shape``, ``checked_lines``,
  ``check_label_glyphs``, ``check_order_quota``): the same refusals in the same order
  with the same words.
- The quota is checked inside the transaction that writes the order, after a write to
  the account's row (``check_order_quota``), so concurrent orders of one account queue
  there and each counts the others: a burst cannot overrun it. An order that no quota
  limits (staff, or quotas off) skips that transaction step.
- Nothing here blocks the event loop: PostgreSQL is reached with psycopg's async driver,
  SQLite in one worker-thread hop per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from discflow.domain import REQUEST_LIFECYCLE, Address, Priority, RequestState
from discflow.store._auth import OrderQuota, Principal, Role, check_order_quota, hash_token
from discflow.store._caches import (
    CATALOG_TTL_S,
    CatalogEntry,
    PrincipalCache,
    TtlCache,
    clear_principals_everywhere,
)
from discflow.store._catalog import no_such_content, visible_to
from discflow.store._ids import new_id
from discflow.store._orders import (
    OrderLine,
    address_fields,
    check_idempotency_key,
    check_label_glyphs,
    check_order_shape,
    checked_lines,
    order_body_hash,
)
from discflow.store._types import utcnow

__all__ = ["HotPath", "OrderRows", "PlacedRequestRow", "QuotaCheck", "RevocationWatch"]

# run by a backend inside the order's own transaction, before it writes the order
QuotaCheck = Callable[[Session], None]

REVOCATION_POLL_S = 0.5
_log = logging.getLogger("discflow.store.intake")


@dataclass(frozen=True, slots=True)
class PlacedRequestRow:
    id: str
    position: int
    content_id: str
    media: str
    copies: int
    priority: str
    good_copies: int = 0
    failed_copies: int = 0
    state: str = RequestState.QUEUED.value
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderRows:
    """Every row one order writes, and what the API answers with (no read-back needed)."""

    id: str
    user_id: int
    user_name: str
    ship_to: dict[str, Any]
    source: str
    created_at: datetime
    requests: tuple[PlacedRequestRow, ...]
    idempotency_key: str | None
    body_hash: str

    def received_message(self) -> str:
        return f"order of {len(self.requests)} request(s) received via {self.source}"

    @staticmethod
    def queued_message(request: PlacedRequestRow) -> str:
        return f"{request.copies} x {request.media} of {request.content_id}"


class HotBackend(Protocol):
    """One database's way to run the hot path's few statements without blocking the loop."""

    async def principal(self, token_hash: str) -> Principal | None: ...

    async def catalog_entry(self, content_id: str) -> CatalogEntry | None: ...

    async def insert_order(self, rows: OrderRows, quota_check: QuotaCheck | None) -> bool:
        """Write the order; False (and nothing written) when its idempotency key exists.
        ``quota_check`` runs first in the same transaction; what it raises, nothing is
        written."""
        ...

    async def newest_event_id(self, types: Sequence[str]) -> int: ...

    async def start(self) -> None:
        """Get ready to serve calls made in the running event loop."""
        ...

    async def dispose(self) -> None: ...


class HotPath:
    """One worker's hot path: its caches and its database backend."""

    def __init__(self, backend: HotBackend) -> None:
        self.backend = backend
        self.principals = PrincipalCache()
        self.catalog: TtlCache[str, CatalogEntry] = TtlCache(CATALOG_TTL_S, 4096)

    async def principal(self, token: str) -> Principal | None:
        """The user a bearer token belongs to (None: unknown, revoked or a device's)."""
        digest = hash_token(token)
        found = self.principals.get(digest)
        if found is not None:
            return found
        generation = self.principals.generation
        found = await self.backend.principal(digest)
        if found is not None:
            self.principals.put(digest, found, generation=generation)
        return found

    async def content(self, content_id: str) -> CatalogEntry | None:
        found = self.catalog.get(content_id)
        if found is None:
            found = await self.backend.catalog_entry(content_id)
            if found is not None:
                self.catalog.put(content_id, found)
        return found

    async def place_order(
        self,
        principal: Principal,
        lines: Sequence[OrderLine],
        ship_to: Address,
        *,
        idempotency_key: str | None,
        source: str,
        priority: Priority,
        quota: OrderQuota | None = None,
    ) -> OrderRows | None:
        """The order as written, or None when its Idempotency-Key was already used
        (then ``place_order`` replays or refuses, and nothing was written here).

        ``quota``: the account's limits (None: none), checked as ``place_order`` does."""
        check_order_shape(principal, lines)
        check_idempotency_key(idempotency_key)
        assert principal.user_id is not None  # check_order_shape refused the others
        sizes: dict[str, int] = {}
        for line in lines:
            entry = await self.content(line.content_id) if line.content_id else None
            if entry is not None and visible_to(entry, principal):
                sizes[entry.id] = entry.size_bytes

        def size_of(content_id: str) -> int:
            if content_id not in sizes:
                raise no_such_content(content_id)
            return sizes[content_id]

        parsed = checked_lines(lines, size_of)
        check_label_glyphs(ship_to)
        quota_check = _quota_check(principal, sum(line.copies for line in parsed), quota)
        REQUEST_LIFECYCLE.check(RequestState.RECEIVED, RequestState.QUEUED, subject="request")
        rows = OrderRows(
            id=new_id("ORD"),
            user_id=principal.user_id,
            user_name=principal.name,
            ship_to=address_fields(ship_to),
            source=source,
            created_at=utcnow(),
            requests=tuple(
                PlacedRequestRow(
                    id=new_id("REQ"),
                    position=position,
                    content_id=line.content_id,
                    media=line.media.name,
                    copies=line.copies,
                    priority=priority.value,
                )
                for position, line in enumerate(parsed)
            ),
            idempotency_key=idempotency_key,
            body_hash=order_body_hash(lines, ship_to, priority),
        )
        if not await self.backend.insert_order(rows, quota_check):
            return None
        return rows


def _quota_check(principal: Principal, copies: int, quota: OrderQuota | None) -> QuotaCheck | None:
    """``check_order_quota`` for the order's transaction, or None when nothing limits it."""
    if quota is None or not (quota.copies_per_day or quota.open_orders):
        return None
    if principal.role is None or principal.role.at_least(Role.OPERATOR):
        return None

    def check(session: Session) -> None:
        check_order_quota(session, principal, copies, quota)

    return check


class RevocationWatch:
    """Empties the principal caches when another worker records a revocation.

    Polls the task log (an indexed look-up by event type) every ``REVOCATION_POLL_S``;
    when the database cannot be read, the caches are emptied rather than trusted."""

    def __init__(self, hot: HotPath, types: Sequence[str]) -> None:
        self.hot = hot
        self.types = tuple(types)
        self.seen: int | None = None

    async def check(self) -> None:
        try:
            newest = await self.hot.backend.newest_event_id(self.types)
        except Exception:
            clear_principals_everywhere()
            raise
        if self.seen is not None and newest != self.seen:
            clear_principals_everywhere()
        self.seen = newest

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check()
            except Exception as error:  # the caches are empty now; try again next round
                _log.warning("cannot read the task log for revocations: %s", error)
            try:
                await asyncio.wait_for(stop.wait(), REVOCATION_POLL_S)
            except TimeoutError:
                continue

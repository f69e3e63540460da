"""Short-lived per-worker caches of what every API call reads: principals and catalog rows.

Invariants:
- A cache belongs to one ``Database`` (one worker's), never to the module, so a new
  database (a test's, a restarted worker's) starts empty.
- A principal is cached under the token's stored digest (``hash_token``), never under the
  clear token, for at most ``PRINCIPAL_TTL_S``; a ``token.revoked`` event empties the
  principal cache of the process that recorded it when its transaction commits, and
  every other worker's at its next look at the task log (``RevocationWatch``).
- Catalog rows are immutable once added (nothing edits or deletes one), so a cached row
  is never wrong; the TTL only bounds memory for contents nobody orders any more.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from discflow.store._auth import Principal
from discflow.store._tables import Event

__all__ = [
    "REVOKING_EVENTS",
    "CatalogEntry",
    "PrincipalCache",
    "TtlCache",
    "clear_principals_everywhere",
]

PRINCIPAL_TTL_S = 30.0
CATALOG_TTL_S = 300.0
# task-log events after which a cached principal may be wrong
REVOKING_EVENTS = ("token.revoked",)

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A dict whose entries expire; when full, the oldest entries go first."""

    def __init__(self, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        # bumped by clear(): a value read from the database before a clear is not put
        self.generation = 0

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires < self._clock():
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, *, generation: int | None = None) -> None:
        """Keep ``value``, unless the cache was cleared since ``generation`` was read."""
        if generation is not None and generation != self.generation:
            return
        if len(self._entries) >= self._max:
            # dicts keep insertion order: drop the oldest tenth at once, not one per put
            for old in list(self._entries)[: max(1, self._max // 10)]:
                del self._entries[old]
        self._entries[key] = (self._clock() + self._ttl_s, value)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog row as the API shows it (the same attribute names as ``Content``)."""

    id: str
    title: str
    description: str
    tags: list[str]
    size_bytes: int
    sha256: str
    volume_id: str
    filesystems: list[str]
    created_at: datetime
    owner_user_id: int | None  # a private content's (a patient disc's) account


class PrincipalCache(TtlCache[str, Principal]):
    """Token digest -> principal; every instance is emptied by a revocation in this process."""

    def __init__(self, ttl_s: float = PRINCIPAL_TTL_S, max_entries: int = 10_000) -> None:
        super().__init__(ttl_s, max_entries)
        _ALL_PRINCIPAL_CACHES.add(self)


_ALL_PRINCIPAL_CACHES: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()
_REVOKES = "discflow_revokes_principals"


def clear_principals_everywhere() -> None:
    """Empty every principal cache of this process."""
    for cache in list(_ALL_PRINCIPAL_CACHES):
        cache.clear()


# Whatever code revokes (a page, the CLI, a future service) records the event through the
# ORM; noticing it here, at commit, needs no change to any of those callers.
@event.listens_for(Session, "before_flush")
def _note_revocations(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(o, Event) and o.type in REVOKING_EVENTS for o in session.new):
        session.info[_REVOKES] = True


@event.listens_for(Session, "after_commit")
def _clear_on_commit(session: Session) -> None:
    if session.info.pop(_REVOKES, False):
        clear_principals_everywhere()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_REVOKES, None)

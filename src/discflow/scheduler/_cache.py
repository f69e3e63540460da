# Which cached contents to delete to make room (claim 9).
#
# Invariants: a pinned entry and the entry being made room for are never
# victims; an entry is deleted no earlier than its last promised burn ends and
# its download completes (``evict_at``); victims that can go *now* are always
# preferred to ones that must wait, so a download is delayed only when the
# cache holds nothing idle enough to free the space; among those that can go
# now, contents the device's planned work still needs go last.
"""Cache eviction policies: LRU and size-aware GDSF."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal

from discflow.scheduler._model import CachedContent

CachePolicy = Literal["lru", "gdsf"]
CACHE_POLICIES: tuple[CachePolicy, ...] = ("lru", "gdsf")


def evict_at(entry: CachedContent, now: float) -> float:
    """The earliest time ``entry`` may be deleted."""
    return max(now, entry.busy_until_s, entry.ready_s)


def _score(entry: CachedContent, policy: CachePolicy) -> tuple[float, float]:
    # Lower scores go first. GDSF (Cherkasova's Greedy-Dual-Size-Frequency with
    # cost 1) keeps many small popular contents rather than one big rare one;
    # the aging term is the recency tie-break, since a device record carries
    # no inflation value.
    if policy == "gdsf":
        return (entry.hits / max(entry.size_bytes, 1), entry.last_used_s)
    return (entry.last_used_s, -entry.size_bytes)


def choose_victims(
    entries: Iterable[CachedContent],
    *,
    need_bytes: int,
    keep: str,
    now: float,
    policy: CachePolicy,
    planned: Collection[str] = (),
) -> list[CachedContent] | None:
    """Entries to delete so that ``need_bytes`` more fit, or None if pins forbid it.

    Contents in ``planned`` (work already planned on this device will burn
    them) go last among the entries that can go now: deleting one means
    fetching it again."""
    if need_bytes <= 0:
        return []
    candidates = [e for e in entries if not e.pinned and e.content != keep]

    def order(entry: CachedContent) -> tuple[object, ...]:
        at = evict_at(entry, now)  # once per entry: this sort runs at every fetch
        return (at > now, entry.content in planned, at, *_score(entry, policy), entry.content)

    candidates.sort(key=order)
    victims: list[CachedContent] = []
    freed = 0
    for entry in candidates:
        victims.append(entry)
        freed += entry.size_bytes
        if freed >= need_bytes:
            return victims
    return None

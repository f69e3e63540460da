# Which cached contents to delete to make room (claim 9).
#
# Invariants: a pinned entry and the entry being made room for are never
# victims; an entry is deleted no earlier than its last promised burn ends and
# its download completes (``evict_at``); victims that can go *now* are always
# preferred to ones that must wait, so a download is delayed only when the
# cache holds nothing idle enough to free the space; among those that can go
# now (and among those that must wait), contents the device's planned work still
# needs go last. ``EvictionOrder`` picks
# exactly the victims ``choose_victims`` would, for a cache that is told of
# every entry it stores and a clock that never goes back.
"""Cache eviction policies: LRU and size-aware GDSF."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Literal, TypeVar

from discflow.scheduler._model import CachedContent

CachePolicy = Literal["lru", "gdsf"]
CACHE_POLICIES: tuple[CachePolicy, ...] = ("lru", "gdsf")


def evict_at(entry: CachedContent, now: float) -> float:
    """The earliest time ``entry`` may be deleted."""
    # max(now, busy, ready), as two compares (a three-argument max() is a generic call
    # once compiled); the first of equal values wins, as in max().
    at = now
    if entry.busy_until_s > at:
        at = entry.busy_until_s
    if entry.ready_s > at:
        at = entry.ready_s
    return at


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
    them) go last among the entries that can go now, and among those that must
    wait: deleting one means fetching it again."""
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


# Heap rows: (*sort key, tie number, entry); the tie number keeps two rows of
# one content (a live and a superseded entry) from comparing entries.
_IdleRow = tuple[float, float, str, int, CachedContent]
_BusyRow = tuple[float, float, float, str, int, CachedContent]


@dataclass(slots=True)
class EvictionOrder:
    """``choose_victims`` kept as two lazy heaps for one cache (no sort per fetch).

    ``choose_victims`` sorts idle entries (``evict_at`` <= now) by score and
    content, then busy ones by ``evict_at``, score and content. Here idle
    entries sit in a heap by (score, content) and busy ones in a heap by
    (``evict_at``, score, content); a busy row moves to the idle heap once the
    clock passes its ``evict_at`` (time only goes forward, so it stays idle).
    A row is live while the cache still maps its content to that very entry:
    the owner calls ``touch`` for every entry it stores (rows are pushed at the
    next ``take``, one per content however often it changed since), and
    superseded rows are dropped when popped (or all at once when they
    outnumber the live)."""

    policy: CachePolicy
    idle: list[_IdleRow] = field(default_factory=list)
    busy: list[_BusyRow] = field(default_factory=list)
    pushed: int = 0  # rows pushed since the last rebuild (the tie numbers)
    touched: dict[str, None] = field(default_factory=dict)  # contents stored since

    @classmethod
    def of(
        cls, cache: Mapping[str, CachedContent], policy: CachePolicy, now: float
    ) -> EvictionOrder:
        order = cls(policy)
        order.rebuild(cache, now)
        return order

    def rebuild(self, cache: Mapping[str, CachedContent], now: float) -> None:
        self.idle.clear()
        self.busy.clear()
        self.touched.clear()
        self.pushed = 0
        for entry in cache.values():
            self._push(entry, now)

    def touch(self, content: str) -> None:
        """The cache now maps ``content`` to a new entry."""
        self.touched[content] = None

    def _push(self, entry: CachedContent, now: float) -> None:
        if entry.pinned:
            return
        self.pushed += 1
        first, second = _score(entry, self.policy)
        at = entry.busy_until_s if entry.busy_until_s > entry.ready_s else entry.ready_s
        if at <= now:
            heappush(self.idle, (first, second, entry.content, self.pushed, entry))
        else:
            heappush(self.busy, (at, first, second, entry.content, self.pushed, entry))

    def take(
        self,
        cache: Mapping[str, CachedContent],
        *,
        need_bytes: int,
        keep: str,
        now: float,
        planned: Collection[str] = (),
    ) -> list[CachedContent] | None:
        """``choose_victims(cache.values(), ...)``: the victims leave the index (the
        caller deletes them), and nothing changes when it returns None."""
        if need_bytes <= 0:
            return []
        idle, busy = self.idle, self.busy
        if len(idle) + len(busy) + len(self.touched) > 2 * len(cache) + 16:
            self.rebuild(cache, now)
        for content in self.touched:
            stored = cache.get(content)
            if stored is not None:
                self._push(stored, now)
        self.touched.clear()
        while busy and busy[0][0] <= now:
            at, first, second, content, tie, entry = heappop(busy)
            if cache.get(content) is entry:
                heappush(idle, (first, second, content, tie, entry))
        # the idle heap first, then the busy one: (row, taken) of the live rows popped
        idle_rows, freed = _pick(idle, cache, keep, planned, need_bytes, 0)
        busy_rows, freed = _pick(busy, cache, keep, planned, need_bytes, freed)
        enough = freed >= need_bytes
        victims = [row[-1] for row, taken in idle_rows if taken]
        victims += [row[-1] for row, taken in busy_rows if taken]
        for row, taken in idle_rows:
            if not (taken and enough):
                heappush(idle, row)
        for brow, taken in busy_rows:
            if not (taken and enough):
                heappush(busy, brow)
        return victims if enough else None


_Row = TypeVar("_Row", _IdleRow, _BusyRow)


def _pick(
    heap: list[_Row],
    cache: Mapping[str, CachedContent],
    keep: str,
    planned: Collection[str],
    need_bytes: int,
    freed: int,
) -> tuple[list[tuple[_Row, bool]], int]:
    """Pop ``heap``'s live rows (entry last in each row) until ``need_bytes`` are freed:
    planned contents are held back and taken after the others, in heap order; ``keep``
    is never taken. The rows popped, each with whether it was taken, and the bytes freed."""
    rows: list[tuple[_Row, bool]] = []
    later: list[_Row] = []
    while heap and freed < need_bytes:
        row = heappop(heap)
        entry = row[-1]
        if cache.get(entry.content) is not entry:
            continue  # superseded
        if entry.content in planned and entry.content != keep:
            later.append(row)
            continue
        taken = entry.content != keep
        rows.append((row, taken))
        freed += entry.size_bytes if taken else 0
    for row in later:
        taken = freed < need_bytes
        rows.append((row, taken))
        freed += row[-1].size_bytes if taken else 0
    return rows, freed

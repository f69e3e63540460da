# The server's queue of work not yet bound to a drive (late binding).
#
# Invariants: every queued request has one Waiter; its ``left`` copies are
# ``pooled`` (anyone may take them) plus the copies of its Pieces (a device's
# planned share). The per-media heaps are lazy: an entry is live only while
# its version equals the Waiter's and copies are pooled, so an update is one
# push (amortised O(log n)) and a stale entry costs one pop later.
# ``by_content`` holds exactly the Waiters with pooled copies, per content
# (no empty dicts), so a device's best pooled request among the contents it
# holds is found by scanning the smaller of its cache and that index, not
# kept in a heap per holder (one push per holder at every change cost more
# than the scan). Orders are total and deterministic: (urgency, arrival seq).
"""Waiters, planned pieces and the pool's priority/Smith/aging indexes."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Final

from discflow.domain import Priority
from discflow.scheduler._model import QueuedRequest

Entry = tuple[float, int, int, "Waiter"]
# Priority weights in Smith's rule (work / weight): rush goes first unless it is
# many times longer; low yields to everything of similar size.
WEIGHTS: Final[dict[int, float]] = {0: 0.25, 1: 1.0, 2: 8.0}
# The same per Priority member (``Priority.rank`` is a Python property: looked up
# once here, not at every arrival).
_WEIGHT_OF: Final[dict[Priority, float]] = {p: WEIGHTS[p.rank] for p in Priority}
# Linear aging: a request's key drops by this many seconds per second it waits.
# As key + rate x (now - arrival) orders like key + rate x arrival, the heaps
# stay valid as time passes; a request is overtaken only by requests that
# arrived less than (its key / rate) after it, which bounds its wait.
AGING_RATE: Final = 0.1
# The rest of a started request is due once DUE_FACTOR times its span on its
# device (its copies in rounds of the device's drives) has passed since it
# arrived; a due rest goes before Smith's order there. Without it the rest of a
# 40-copy request is overtaken by every shorter arrival within key / AGING_RATE
# (hours), which made the online p99 (BENCHMARKS.md, "Online, session 11").
DUE_FACTOR: Final = 1.5


# The planner's mutable records below write their own __init__ (init=False):
# compiled, a dataclass keeps its generated __init__, interpreted (about 6 % of
# the planner's instructions went to those of Waiter, Piece, Decisions and
# the choice record), while a written one is compiled with the class.


@dataclass(slots=True, eq=False, init=False)
class Waiter:
    """A queued request and how many of its copies are not yet bound to a drive."""

    request: QueuedRequest
    size: int
    left: int
    pooled: int
    version: int
    expected: int  # holders woken for it that have not looked yet
    weight: float  # its priority's (fixed: looked up once)
    pool_key: float  # ``Pool.key`` at its last push (see there)
    due_s: float  # when its started rest goes first (see DUE_FACTOR; inf until started)
    handed_s: float  # the round it was last handed to a parked device (see _handoff)
    handed_to: list[int]  # the ranks of the devices it was handed to in that round

    def __init__(self, request: QueuedRequest, size: int, left: int, pooled: int) -> None:
        self.request = request
        self.size = size
        self.left = left
        self.pooled = pooled
        self.version = 0
        self.expected = 0
        self.weight = _WEIGHT_OF[request.priority]
        self.pool_key = 0.0
        self.due_s = math.inf
        self.handed_s = -math.inf
        self.handed_to = []

    def urgency(self, work_s: float) -> float:
        """Smith's rule with priority weight and linear aging: lower goes first."""
        return work_s / self.weight + AGING_RATE * self.request.arrival_s


@dataclass(slots=True, eq=False, init=False)
class Piece:
    """Copies of one request planned for one device (bound later, a drive at a time)."""

    waiter: Waiter
    copies: int
    key: float  # urgency on its device (see Waiter.urgency)
    started: bool  # the rest of a request a device started (not an LP share)

    def __init__(self, waiter: Waiter, copies: int, key: float, started: bool = False) -> None:
        self.waiter = waiter
        self.copies = copies
        self.key = key
        self.started = started


@dataclass(slots=True)
class Pool:
    """Unallocated copies, indexed per media and per holding device by urgency."""

    ref_burn: dict[str, tuple[float, float]]  # media -> (least overhead, best write speed)
    heaps: dict[str, list[Entry]] = field(default_factory=dict)
    by_content: dict[str, dict[str, Waiter]] = field(default_factory=dict)
    copies: dict[str, int] = field(default_factory=dict)  # media -> pooled copies

    def key(self, w: Waiter) -> float:
        """Remaining work of the pooled copies on the fleet's fastest writer (SRPT)."""
        overhead, write = self.ref_burn.get(w.request.media, (0.0, 1.0))
        return w.urgency(w.pooled * (overhead + w.size / write))

    def add(self, w: Waiter) -> None:
        media = w.request.media
        self.copies[media] = self.copies.get(media, 0) + w.pooled
        self._push(w)

    def changed(self, w: Waiter, before: int) -> None:
        """``w.pooled`` went from ``before`` to its current value."""
        q = w.request
        self.copies[q.media] = self.copies.get(q.media, 0) + w.pooled - before
        w.version += 1
        if w.pooled > 0:
            self._push(w)
            return
        waiting = self.by_content.get(q.content)
        if waiting is not None:
            waiting.pop(q.id, None)
            if not waiting:
                del self.by_content[q.content]

    def best_held(
        self, cache: Collection[str], usable: Collection[str], skip: set[int]
    ) -> Waiter | None:
        """The most urgent pooled request of a ``usable`` media whose content is in
        ``cache`` (not in ``skip``), scanning the smaller of the two indexes."""
        by_content = self.by_content
        if len(by_content) <= len(cache):
            groups = [g for c, g in by_content.items() if c in cache]
        else:
            groups = [g for c in cache if (g := by_content.get(c)) is not None]
        best: Waiter | None = None
        best_key = (0.0, 0)
        for group in groups:
            for w in group.values():
                if w.request.media not in usable or id(w) in skip:
                    continue
                key = (w.pool_key, w.request.seq)
                if best is None or key < best_key:
                    best, best_key = w, key
        return best

    def fits_any(self, media: str, cache_bytes: int) -> bool:
        """Whether some pooled request of ``media`` fits a cache of ``cache_bytes``
        (the first fit ends the search)."""
        return any(
            entry[3].pooled > 0 and entry[3].size <= cache_bytes
            for entry in self.heaps.get(media, ())
        )

    def _push(self, w: Waiter) -> None:
        # Every change of ``pooled`` pushes, so ``pool_key`` is the live key of
        # each Waiter in ``by_content`` (``best_held`` reads it, not recomputes it).
        q = w.request
        w.pool_key = key = self.key(w)
        heappush(self.heaps.setdefault(q.media, []), (key, q.seq, w.version, w))
        self.by_content.setdefault(q.content, {})[q.id] = w


def live(heap: list[Entry]) -> Entry | None:
    """The heap's best live entry (stale ones are dropped on the way)."""
    while heap:
        entry = heap[0]
        w = entry[3]
        if entry[2] == w.version and w.pooled > 0:
            return entry
        heappop(heap)
    return None

# The server's queue of work not yet bound to a drive (late binding).
#
# Invariants: every queued request has one Waiter; its ``left`` copies are
# ``pooled`` (anyone may take them) plus the copies of its Pieces (a device's
# planned share). Heaps are lazy: an entry is live only while its version
# equals the Waiter's and copies are pooled, so an update is one push
# (amortised O(log n)) and a stale entry costs one pop later. Orders are
# total and deterministic: (priority, key, arrival seq, version).
"""Waiters, planned pieces and the pool's priority/Smith/aging indexes."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from discflow.scheduler._model import QueuedRequest

Entry = tuple[int, float, int, int, "Waiter"]


@dataclass(slots=True, eq=False)
class Waiter:
    """A queued request and how many of its copies are not yet bound to a drive."""

    request: QueuedRequest
    size: int
    left: int
    pooled: int
    version: int = 0

    @property
    def order(self) -> int:
        """Sorts first for the highest priority."""
        return -self.request.priority.rank


@dataclass(slots=True, eq=False)
class Piece:
    """Copies of one request planned for one device (bound later, a drive at a time)."""

    waiter: Waiter
    copies: int
    key: float  # Smith key on its device: seconds of work per request of its group


@dataclass(slots=True)
class Pool:
    """Unallocated copies, indexed per media by (priority, Smith key) and by arrival."""

    ref_burn: dict[str, tuple[float, float]]  # media -> (least overhead, best write speed)
    heaps: dict[str, list[Entry]] = field(default_factory=dict)
    local: dict[str, list[Entry]] = field(default_factory=dict)  # device -> cached contents
    by_arrival: dict[str, deque[Waiter]] = field(default_factory=dict)
    by_content: dict[str, dict[str, Waiter]] = field(default_factory=dict)
    copies: dict[str, int] = field(default_factory=dict)  # media -> pooled copies

    def key(self, w: Waiter) -> float:
        """Remaining work of the pooled copies on the fleet's fastest writer (SRPT)."""
        overhead, write = self.ref_burn.get(w.request.media, (0.0, 1.0))
        return w.pooled * (overhead + w.size / write)

    def add(self, w: Waiter, holders: dict[str, dict[str, None]]) -> None:
        media = w.request.media
        self.by_arrival.setdefault(media, deque()).append(w)
        self.copies[media] = self.copies.get(media, 0) + w.pooled
        self._push(w, holders)

    def changed(self, w: Waiter, before: int, holders: dict[str, dict[str, None]]) -> None:
        """``w.pooled`` went from ``before`` to its current value."""
        media = w.request.media
        self.copies[media] = self.copies.get(media, 0) + w.pooled - before
        w.version += 1
        if w.pooled > 0:
            self._push(w, holders)
        else:
            waiting = self.by_content.get(w.request.content)
            if waiting is not None:
                waiting.pop(w.request.id, None)

    def downloaded(self, device: str, content: str) -> None:
        """``device`` now holds ``content``: its pooled requests become local there."""
        for w in self.by_content.get(content, {}).values():
            heapq.heappush(self.local.setdefault(device, []), self._entry(w))

    def _entry(self, w: Waiter) -> Entry:
        return (w.order, self.key(w), w.request.seq, w.version, w)

    def _push(self, w: Waiter, holders: dict[str, dict[str, None]]) -> None:
        entry = self._entry(w)
        heapq.heappush(self.heaps.setdefault(w.request.media, []), entry)
        for device in holders.get(w.request.content, {}):
            heapq.heappush(self.local.setdefault(device, []), entry)
        self.by_content.setdefault(w.request.content, {})[w.request.id] = w

    def oldest(self, media: str) -> Waiter | None:
        """The earliest arrival of ``media`` with pooled copies."""
        queue = self.by_arrival.get(media)
        while queue and queue[0].pooled == 0:
            queue.popleft()
        return queue[0] if queue else None


def live(heap: list[Entry]) -> Entry | None:
    """The heap's best live entry (stale ones are dropped on the way)."""
    while heap:
        entry = heap[0]
        w = entry[4]
        if entry[3] == w.version and w.pooled > 0:
            return entry
        heapq.heappop(heap)
    return None

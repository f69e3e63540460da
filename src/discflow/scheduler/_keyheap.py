# A binary min-heap of (key, tie) pairs for the standing planner's hot queues.
#
# The planner's wake queue and steal index were heapq heaps of tuples such as
# (time, device name): every comparison there is a tuple comparison through
# the generic object protocol, about 290 instructions (a tenth of the
# planner's instructions at poisson 10k x 200 went to heapq's sifts). Here an
# entry is a compiled record and a comparison is two float and one int
# comparison of its fields. Ties are broken by ``tie``, an int the caller
# gives in the order its tuples' second item had (a device's rank in name
# order), so pops come out in exactly the order heapq gave: entries are
# totally ordered, and equal entries are interchangeable.
# The heap keeps every entry pushed until popped (the callers' lazy deletion
# relies on stale entries still counting in ``len`` and ``top``).
"""A heap of (float key, int tie) entries, compared field by field."""

from __future__ import annotations

from collections.abc import Iterable


class Keyed:
    """One heap entry: ordered by ``key``, then ``tie``."""

    __slots__ = ("key", "tie")

    def __init__(self, key: float, tie: int) -> None:
        self.key = key
        self.tie = tie


def _before(a: Keyed, b: Keyed) -> bool:
    return a.key < b.key or (a.key == b.key and a.tie < b.tie)


class KeyHeap:
    """A min-heap of ``Keyed`` entries (``heapq``'s algorithm on its own records)."""

    __slots__ = ("entries",)

    def __init__(self, pairs: Iterable[tuple[float, int]] = ()) -> None:
        self.entries: list[Keyed] = [Keyed(key, tie) for key, tie in pairs]
        for start in reversed(range(len(self.entries) // 2)):
            self._sift_up(start)

    def __len__(self) -> int:
        return len(self.entries)

    def top(self) -> Keyed:
        """The least entry (the heap must not be empty)."""
        return self.entries[0]

    def push(self, key: float, tie: int) -> None:
        entries = self.entries
        entries.append(Keyed(key, tie))
        self._sift_down(0, len(entries) - 1)

    def pop(self) -> Keyed:
        """Remove and return the least entry (the heap must not be empty)."""
        entries = self.entries
        last = entries.pop()
        if not entries:
            return last
        least = entries[0]
        entries[0] = last
        self._sift_up(0)
        return least

    # heapq's _siftdown and _siftup, with ``_before`` for ``<``.
    def _sift_down(self, start: int, pos: int) -> None:
        entries = self.entries
        item = entries[pos]
        while pos > start:
            parent_pos = (pos - 1) >> 1
            parent = entries[parent_pos]
            if _before(item, parent):
                entries[pos] = parent
                pos = parent_pos
                continue
            break
        entries[pos] = item

    def _sift_up(self, pos: int) -> None:
        entries = self.entries
        end = len(entries)
        start = pos
        item = entries[pos]
        child = 2 * pos + 1
        while child < end:
            right = child + 1
            if right < end and not _before(entries[child], entries[right]):
                child = right
            entries[pos] = entries[child]
            pos = child
            child = 2 * pos + 1
        entries[pos] = item
        self._sift_down(start, pos)

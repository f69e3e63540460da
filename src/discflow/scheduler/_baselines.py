# The baselines discflow is measured against, on the same interface.
#
# Invariants: both take requests strictly in arrival order (``seq``), put a
# whole request on one device while it has blanks, and ignore what devices
# have cached when choosing (that is what makes them baselines); they still
# obey every physical rule through the shared Ledger, and fetch/evict (LRU)
# like any cache would.
"""Baseline policies: ``first-available`` and ``round-robin``."""

from __future__ import annotations

import heapq

from discflow.scheduler._ledger import Ledger, static_refusal
from discflow.scheduler._model import DeviceView, Plan, QueuedRequest, Snapshot


def plan_first_available(snapshot: Snapshot) -> Plan:
    """The first idle drive wins, like a print server's printer class."""
    ledger = Ledger(snapshot, "lru")
    by_media: dict[str, list[tuple[float, int]]] = {}
    cands: dict[str, list[DeviceView]] = {}
    for r in _ordered(snapshot, ledger):
        if r.media not in by_media:
            devs = [d for d in snapshot.devices if d.online and r.media in d.media]
            cands[r.media] = devs
            by_media[r.media] = [(ledger.drive_free(d), i) for i, d in enumerate(devs)]
            heapq.heapify(by_media[r.media])
        heap, devs = by_media[r.media], cands[r.media]
        size = snapshot.contents[r.content]
        left = r.copies
        skipped: list[tuple[float, int]] = []
        while left > 0 and heap:
            free, i = heap[0]
            d = devs[i]
            blanks = ledger.blanks(d, r.media)
            if blanks <= 0 or size > d.cache_bytes:
                skipped.append(heapq.heappop(heap))
                continue
            cur = ledger.drive_free(d)
            if cur > free:
                heapq.heapreplace(heap, (cur, i))
                continue
            if ledger.ensure_cached(d, r.content, size) is None:
                skipped.append(heapq.heappop(heap))
                continue
            n = min(left, blanks)
            ledger.assign(d, r, n, size)
            left -= n
            heapq.heapreplace(heap, (ledger.drive_free(d), i))
        for item in skipped:
            # Devices skipped for lack of blanks stay skipped; others come back.
            if ledger.blanks(devs[item[1]], r.media) > 0:
                heapq.heappush(heap, item)
        _wait_rest(ledger, r, left, devs)
    return ledger.plan()


def plan_round_robin(snapshot: Snapshot) -> Plan:
    """Deal requests to the capable devices in turn, by arrival number."""
    ledger = Ledger(snapshot, "lru")
    cands: dict[str, list[DeviceView]] = {}
    for r in _ordered(snapshot, ledger):
        devs = cands.get(r.media)
        if devs is None:
            devs = [d for d in snapshot.devices if d.online and r.media in d.media]
            cands[r.media] = devs
        size = snapshot.contents[r.content]
        left = r.copies
        for step in range(len(devs)):
            if left <= 0:
                break
            d = devs[(r.seq + step) % len(devs)]
            blanks = ledger.blanks(d, r.media)
            if blanks <= 0 or ledger.ensure_cached(d, r.content, size) is None:
                continue
            n = min(left, blanks)
            ledger.assign(d, r, n, size)
            left -= n
        _wait_rest(ledger, r, left, devs)
    return ledger.plan()


def _ordered(snapshot: Snapshot, ledger: Ledger) -> list[QueuedRequest]:
    """Placeable requests in arrival order; the others are refused with a reason."""
    out: list[QueuedRequest] = []
    refusals: dict[tuple[str, str], str | None] = {}
    for r in sorted(snapshot.requests, key=lambda q: q.seq):
        key = (r.content, r.media)
        if key not in refusals:
            refusals[key] = static_refusal(snapshot, *key)
        reason = refusals[key]
        if reason is None:
            out.append(r)
        else:
            ledger.refuse(r, reason)
    return out


def _wait_rest(ledger: Ledger, r: QueuedRequest, left: int, devs: list[DeviceView]) -> None:
    if left > 0:
        empty = [d.name for d in devs if ledger.blanks(d, r.media) <= 0]
        ledger.wait(r, left, f"waiting for blank {r.media}", empty=empty)

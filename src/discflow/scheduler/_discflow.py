# The product's policy (claims 8 and 9).
#
# Invariants: requests are grouped by (content, media) so a content is fetched
# once per device and burned back to back; each copy goes to the capable
# device that finishes it soonest, except that a device already holding the
# content keeps the work while it stays within the fleet's drain horizon (or
# beats the alternative by less than the alternative's download), so caches
# are reused instead of re-downloaded. The round is O(groups x devices +
# copies x log devices): a lazy heap per group tracks the earliest finish,
# since finish times only grow as work is added.
"""The ``discflow`` policy: cache-aware, media-aware earliest-finish routing."""

from __future__ import annotations

import heapq
import math

from discflow.scheduler._cache import CachePolicy
from discflow.scheduler._ledger import Ledger, static_refusal
from discflow.scheduler._model import DeviceView, Plan, QueuedRequest, Snapshot

DEFAULT_CACHE_POLICY: CachePolicy = "gdsf"


def plan_discflow(snapshot: Snapshot, *, cache_policy: CachePolicy = DEFAULT_CACHE_POLICY) -> Plan:
    """Plan every queued request of ``snapshot`` (see the package docstring)."""
    ledger = Ledger(snapshot, cache_policy)
    now = snapshot.now
    online = [d for d in snapshot.devices if d.online]
    groups: dict[tuple[str, str], list[QueuedRequest]] = {}
    for r in snapshot.requests:
        groups.setdefault((r.content, r.media), []).append(r)

    fastest = _fastest_burn(online)
    total_drives = sum(len(d.drives_free_s) for d in online) or 1
    backlog = sum(max(0.0, f - now) for d in online for f in d.drives_free_s)
    work = 0.0
    live: list[tuple[float, int, tuple[str, str], list[QueuedRequest]]] = []
    for key, reqs in groups.items():
        reason = static_refusal(snapshot, *key)
        if reason is not None:
            for r in reqs:
                ledger.refuse(r, reason)
            continue
        size = snapshot.contents[key[0]]
        overhead, write = fastest.get(key[1], (0.0, math.inf))
        copies = sum(r.copies for r in reqs)
        group_work = copies * (overhead + size / write)
        work += group_work
        # Smith's rule: least work per request first minimises mean completion.
        live.append((group_work / len(reqs), min(r.seq for r in reqs), key, reqs))
    horizon = now + (backlog + work) / total_drives
    live.sort(key=lambda g: (g[0], g[1]))
    for _, _, (content, media), reqs in live:
        _place_group(
            ledger,
            online,
            content=content,
            media=media,
            size=snapshot.contents[content],
            reqs=reqs,
            horizon=horizon,
        )
    return ledger.plan()


def _fastest_burn(devices: list[DeviceView]) -> dict[str, tuple[float, float]]:
    """Per media, the least overhead and the highest write speed in the fleet."""
    out: dict[str, tuple[float, float]] = {}
    for d in devices:
        for m, s in d.media.items():
            o, w = out.get(m, (math.inf, 0.0))
            out[m] = (min(o, s.overhead_s), max(w, s.write_Bps))
    return out


def _place_group(
    ledger: Ledger,
    online: list[DeviceView],
    *,
    content: str,
    media: str,
    size: int,
    reqs: list[QueuedRequest],
    horizon: float,
) -> None:
    cands = [d for d in online if media in d.media and size <= d.cache_bytes]
    dead: set[int] = set()  # devices whose cache is pinned too full for this content
    heap = [
        (ledger.next_finish(d, content, size, media), i)
        for i, d in enumerate(cands)
        if ledger.blanks(d, media) > 0
    ]
    heapq.heapify(heap)
    holders = [i for i, d in enumerate(cands) if ledger.entry(d, content) is not None]

    def usable(i: int) -> bool:
        return i not in dead and ledger.blanks(cands[i], media) > 0

    def best_any() -> tuple[float, int]:
        while heap:
            f, i = heap[0]
            if not usable(i):
                heapq.heappop(heap)
                continue
            cur = ledger.next_finish(cands[i], content, size, media)
            if cur > f:
                heapq.heapreplace(heap, (cur, i))
                continue
            return f, i
        return math.inf, -1

    for r in sorted(reqs, key=lambda q: (q.copies, q.seq)):
        left = r.copies
        while left > 0:
            fh, bh = math.inf, -1
            for i in holders:
                if usable(i):
                    f = ledger.next_finish(cands[i], content, size, media)
                    if f < fh:
                        fh, bh = f, i
            if bh >= 0 and fh <= horizon:
                pick = bh
            else:
                fa, ia = best_any()
                if ia < 0 and bh < 0:
                    break
                if ia < 0 or (bh >= 0 and fh <= fa + ledger.download_s(cands[ia], size)):
                    pick = bh
                else:
                    pick = ia
            dev = cands[pick]
            if ledger.entry(dev, content) is None:
                if ledger.ensure_cached(dev, content, size) is None:
                    dead.add(pick)
                    continue
                holders.append(pick)
            ledger.assign(dev, r, 1, size)
            left -= 1
        if left > 0:
            empty = [d.name for i, d in enumerate(cands) if i not in dead and not usable(i)]
            reason = (
                f"waiting for blank {media}: every online device that writes it is empty"
                if empty
                else f"no online device can take {media} {content!r} now"
            )
            ledger.wait(r, left, reason, empty=empty)

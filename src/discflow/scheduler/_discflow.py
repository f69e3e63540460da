# The product's policy (claims 8 and 9).
#
# Invariants: requests are grouped by (content, media) so a content is fetched
# once per device and burned back to back. A round has two phases:
#   1. allocation, on a fluid model of each device (queued work / drives):
#      least flexible groups first (fewest capable drives, then most work),
#      each copy to the capable device that finishes it soonest, except that a
#      device already holding the content keeps the work while it stays within
#      the round's horizon (the balanced makespan found by a first pass) or
#      beats the alternative by less than the alternative's download. This is
#      McNaughton's wrap-around in spirit: few (content, device) pairs, so few
#      downloads, and balanced devices, so a short makespan.
#   2. sequencing: each device runs its share in Smith's order (least work per
#      request first, fewer copies first), which minimises mean completion;
#      the shared Ledger commits downloads, evictions and burns.
# Cost: O(groups x devices + copies x log devices) per pass; lazy heaps work
# because finish times only grow as work is added.
"""The ``discflow`` policy: cache-aware, media-aware earliest-finish routing."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from itertools import repeat

from discflow.scheduler._cache import CachePolicy
from discflow.scheduler._ledger import Ledger, static_refusal
from discflow.scheduler._model import DeviceView, Plan, QueuedRequest, Snapshot

DEFAULT_CACHE_POLICY: CachePolicy = "gdsf"
# A device holding the content keeps a copy unless another would finish it
# sooner by more than this many times that other device's download time.
DOWNLOAD_WEIGHT = 2.0
# In big rounds (the fluid model) each group considers only this many of the
# least-loaded capable devices (more for groups of many copies), plus the
# devices that hold its content.
SHORTLIST = 24
# Rounds of at most this many copies per drive use the exact per-drive model.
DISCRETE_FACTOR = 1


@dataclass(slots=True)
class _Group:
    content: str
    media: str
    size: int
    reqs: list[QueuedRequest]
    smith: tuple[float, int]
    cands: list[DeviceView] = field(default_factory=list)  # every capable online device
    arrays: _Arrays | None = None  # cached for both passes in the discrete model


@dataclass(slots=True)
class _Arrays:
    """Per candidate device of a group, values read from the snapshot."""

    cands: list[DeviceView]
    per: list[float]  # drive seconds per copy (divided by drives in the fluid model)
    dls: list[float]  # download seconds
    ready: list[float | None]  # when the content is ready there; None: must download
    blanks: list[int]
    avail: list[float]
    dl_free: list[float]


def _arrays(
    g: _Group,
    cands: list[DeviceView],
    now: float,
    base: dict[str, tuple[float, float]],
    *,
    discrete: bool,
) -> _Arrays:
    # Read before any decision is committed, so the snapshot's values are the ledger's.
    size, media, content = g.size, g.media, g.content
    out = _Arrays(cands, [], [], [], [], [], [])
    for d in cands:
        stock = d.media[media]
        burn = stock.overhead_s + size / stock.write_Bps
        out.per.append(burn if discrete else burn / len(d.drives_free_s))
        out.dls.append(size / d.link_Bps)
        e = d.cached.get(content)
        out.ready.append(None if e is None else (e.ready_s if e.ready_s > now else now))
        out.blanks.append(stock.blanks)
        avail, dl_free = base[d.name]
        out.avail.append(avail)
        out.dl_free.append(dl_free)
    return out


@dataclass(slots=True)
class _Pass:
    """One allocation pass: fluid states of touched devices, and in the fluid
    model a heap per media of devices by availability, for the shortlist."""

    now: float
    base: dict[str, tuple[float, float]]
    discrete: bool
    online: list[DeviceView]
    holding: dict[str, list[DeviceView]]
    fluid: dict[str, _Fluid] = field(default_factory=dict)
    pools: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def avail(self, d: DeviceView) -> float:
        f = self.fluid.get(d.name)
        return f.avail if f is not None else self.base[d.name][0]

    def shortlist(self, ledger: Ledger, g: _Group) -> list[DeviceView]:
        """The least-loaded capable devices with blanks, plus holders."""
        pool = self.pools.get(g.media)
        if pool is None:
            pool = [(self.avail(d), j) for j, d in enumerate(self.online) if g.media in d.media]
            heapq.heapify(pool)
            self.pools[g.media] = pool
        picked: list[DeviceView] = []
        back: list[tuple[float, int]] = []
        # A popular group may need many devices to finish in time.
        want = max(SHORTLIST, sum(r.copies for r in g.reqs) // 4)
        while pool and len(picked) < want:
            key, j = heapq.heappop(pool)
            d = self.online[j]
            cur = self.avail(d)
            if cur > key:
                heapq.heappush(pool, (cur, j))
                continue
            f = self.fluid.get(d.name)
            left = f.blanks.get(g.media) if f is not None else None
            if (left if left is not None else ledger.blanks(d, g.media)) <= 0:
                continue  # blanks only fall within a pass: drop it for good
            back.append((key, j))
            if g.size <= d.cache_bytes:
                picked.append(d)
        for item in back:
            heapq.heappush(pool, item)
        seen = {d.name for d in picked}
        for d in self.holding.get(g.content, ()):
            if d.name not in seen and g.media in d.media and g.size <= d.cache_bytes:
                picked.append(d)
        return picked


@dataclass(slots=True)
class _Fluid:
    """A device in the allocation phase: mean drive free time, downloads, blanks."""

    avail: float
    dl_free: float
    drives: int
    cache_bytes: int
    blanks: dict[str, int]
    in_use: int = 0  # bytes of the content this round last gave the device
    heap: list[float] | None = None  # per-drive free times, in the discrete model

    def drain(self) -> float:
        return max(self.heap) if self.heap is not None else self.avail


def plan_discflow(snapshot: Snapshot, *, cache_policy: CachePolicy = DEFAULT_CACHE_POLICY) -> Plan:
    """Plan every queued request of ``snapshot`` (see the package docstring)."""
    ledger = Ledger(snapshot, cache_policy)
    online = [d for d in snapshot.devices if d.online]
    by_key: dict[tuple[str, str], list[QueuedRequest]] = {}
    for r in snapshot.requests:
        by_key.setdefault((r.content, r.media), []).append(r)
    fastest = _fastest_burn(online) if len(by_key) > 1 else {}
    groups: list[_Group] = []
    for (content, media), reqs in by_key.items():
        reason = static_refusal(snapshot, content, media)
        if reason is not None:
            for r in reqs:
                ledger.refuse(r, reason)
            continue
        size = snapshot.contents[content]
        overhead, write = fastest.get(media, (0.0, math.inf))
        work = sum(r.copies for r in reqs) * (overhead + size / write)
        g = _Group(content, media, size, reqs, (work / len(reqs), min(r.seq for r in reqs)))
        g.cands = [d for d in online if media in d.media and size <= d.cache_bytes]
        g.reqs.sort(key=lambda q: (q.copies, q.seq))
        groups.append(g)
    if len(groups) > 1:
        # Least flexible first, then longest first: balances a heterogeneous fleet.
        groups.sort(
            key=lambda g: (sum(len(d.drives_free_s) for d in g.cands), -g.smith[0] * len(g.reqs))
        )
    copies = sum(r.copies for g in groups for r in g.reqs)
    discrete = copies <= DISCRETE_FACTOR * sum(len(d.drives_free_s) for d in online)
    now = snapshot.now
    base = {
        d.name: (
            max(min(d.drives_free_s), now) if discrete else _mean_free(d, now),
            max(d.download_free_s, now),
        )
        for d in online
    }
    holding: dict[str, list[DeviceView]] = {}
    if not discrete:
        for d in online:
            for c in d.cached:
                holding.setdefault(c, []).append(d)

    def new_pass() -> _Pass:
        return _Pass(now, base, discrete, online, holding)

    # First the earliest-finish allocation, whose latest end is the best this
    # round can do; then again, letting devices that hold a content keep its
    # copies up to that end, so the same finish costs fewer downloads.
    _, horizon = _allocate(ledger, groups, new_pass(), horizon=-math.inf)
    alloc, _ = _allocate(ledger, groups, new_pass(), horizon=horizon)
    _commit(ledger, groups, alloc)
    return ledger.plan()


def _fastest_burn(devices: list[DeviceView]) -> dict[str, tuple[float, float]]:
    """Per media, the least overhead and the highest write speed in the fleet."""
    out: dict[str, tuple[float, float]] = {}
    for d in devices:
        for m, s in d.media.items():
            o, w = out.get(m, (math.inf, 0.0))
            out[m] = (min(o, s.overhead_s), max(w, s.write_Bps))
    return out


_Alloc = dict[int, dict[str, list[tuple[QueuedRequest, int]]]]


def _mean_free(d: DeviceView, now: float) -> float:
    """When the device's drives would be free if its queued work were fluid."""
    return sum(map(max, d.drives_free_s, repeat(now))) / len(d.drives_free_s)


def _fluid_state(
    ledger: Ledger, fluid: dict[str, _Fluid], d: DeviceView, *, discrete: bool
) -> _Fluid:
    f = fluid.get(d.name)
    if f is None:
        now = ledger.now
        f = _Fluid(
            _mean_free(d, now),
            max(d.download_free_s, now),
            len(d.drives_free_s),
            d.cache_bytes,
            {},
        )
        if discrete:
            f.heap = sorted(map(max, d.drives_free_s, repeat(now)))
            f.avail = f.heap[0]
        fluid[d.name] = f
    return f


def _allocate(
    ledger: Ledger, groups: list[_Group], pas: _Pass, *, horizon: float
) -> tuple[_Alloc, float]:
    """Phase 1: copies per (group, device), and the latest estimated end."""
    alloc: _Alloc = {}
    latest = ledger.now
    for gi, g in enumerate(groups):
        if pas.discrete:
            if g.arrays is None:
                g.arrays = _arrays(g, g.cands, pas.now, pas.base, discrete=True)
            arr = g.arrays
        else:
            arr = _arrays(g, pas.shortlist(ledger, g), pas.now, pas.base, discrete=False)
        alloc[gi], end = _allocate_group(ledger, pas, g, arr, horizon)
        latest = max(latest, end)
    return alloc, latest


def _allocate_group(
    ledger: Ledger, pas: _Pass, g: _Group, arr: _Arrays, horizon: float
) -> tuple[dict[str, list[tuple[QueuedRequest, int]]], float]:
    # In the fluid model a device's queued work is spread evenly over its
    # drives (right for big rounds); in the discrete one each copy takes the
    # earliest free drive (right when a round has fewer copies than drives).
    # Devices untouched in this pass are read from the arrays; a _Fluid
    # state is made only for devices that receive copies.
    now = ledger.now
    fluid, discrete = pas.fluid, pas.discrete
    media, size, cands, per, dls = g.media, g.size, arr.cands, arr.per, arr.dls
    ready = list(arr.ready)
    fl: list[_Fluid | None] = [fluid.get(d.name) for d in cands]
    blanks = [
        b if f is None else f.blanks.get(media, b) for f, b in zip(fl, arr.blanks, strict=True)
    ]

    def download_start(f: _Fluid) -> float:
        # A cache too small for this content beside the one in use must wait
        # for the device to drain before it can evict and fetch.
        return f.dl_free if size + f.in_use <= f.cache_bytes else max(f.dl_free, f.drain())

    def finish(i: int) -> float:
        r = ready[i]
        f = fl[i]
        if f is None:
            return max(arr.avail[i], arr.dl_free[i] + dls[i] if r is None else r) + per[i]
        return max(f.avail, download_start(f) + dls[i] if r is None else r) + per[i]

    def top(heap: list[tuple[float, int]]) -> tuple[float, int]:
        while heap:
            f0, i = heap[0]
            if blanks[i] <= 0:
                heapq.heappop(heap)
                continue
            cur = finish(i)
            if cur > f0:
                heapq.heapreplace(heap, (cur, i))
                continue
            return f0, i
        return math.inf, -1

    every = [(finish(i), i) for i in range(len(cands)) if blanks[i] > 0]
    heapq.heapify(every)
    held = [(finish(i), i) for i in range(len(cands)) if blanks[i] > 0 and ready[i] is not None]
    heapq.heapify(held)
    shares: dict[str, list[tuple[QueuedRequest, int]]] = {}
    latest = now
    for r in g.reqs:
        left = r.copies
        while left > 0:
            fh, bh = top(held)
            if bh >= 0 and fh <= horizon:
                pick, limit = bh, horizon
            else:
                fa, ia = top(every)
                if ia < 0 and bh < 0:
                    break
                # Another device beats the holder only by more than the
                # download it would need (none if it holds the content too).
                slack = 0.0 if ia < 0 or ready[ia] is not None else DOWNLOAD_WEIGHT * dls[ia]
                if ia < 0 or (bh >= 0 and fh <= fa + slack):
                    pick, limit = bh, (max(horizon, fa + slack) if ia >= 0 else math.inf)
                else:
                    pick, limit = ia, -math.inf
            f = fl[pick]
            if f is None:
                f = fl[pick] = _fluid_state(ledger, fluid, cands[pick], discrete=discrete)
            if ready[pick] is None:
                f.dl_free = download_start(f) + dls[pick]
                ready[pick] = f.dl_free
                heapq.heappush(held, (finish(pick), pick))
            f.in_use = size
            # As many copies as keep this device within the limit that chose it.
            cap = min(left, blanks[pick])
            rdy = ready[pick] or now
            if f.heap is None:
                start = max(f.avail, rdy)
                n = 1 if limit == -math.inf else max(1, int((limit - start) / per[pick]))
                n = min(n, cap)
                f.avail = start + n * per[pick]
                latest = max(latest, f.avail)
            else:
                n = 0
                while n < cap:
                    end = max(f.heap[0], rdy) + per[pick]
                    if n and end > limit:
                        break
                    heapq.heapreplace(f.heap, end)
                    latest = max(latest, end)
                    n += 1
                f.avail = f.heap[0]
            blanks[pick] -= n
            left -= n
            share = shares.setdefault(cands[pick].name, [])
            if share and share[-1][0] is r:
                share[-1] = (r, share[-1][1] + n)
            else:
                share.append((r, n))
    for f, b in zip(fl, blanks, strict=True):
        if f is not None:
            f.blanks[media] = b
    return shares, latest


def _commit(ledger: Ledger, groups: list[_Group], alloc: _Alloc) -> None:
    """Phase 2: each device's share in Smith's order, through the Ledger."""
    views = {d.name: d for d in ledger.snapshot.devices}
    per_device: dict[str, list[tuple[tuple[float, int], int, QueuedRequest, int]]] = {}
    placed: dict[str, int] = {}
    for gi, shares in alloc.items():
        g = groups[gi]
        for name, items in shares.items():
            # Smith's rule on this device, setup included: (burn work of the
            # share + its download if the content is not there) per request.
            view = views[name]
            work = sum(n for _, n in items) * view.media[g.media].burn_s(g.size)
            setup = 0.0 if g.content in view.cached else g.size / view.link_Bps
            key = ((work / len(view.drives_free_s) + setup) / len(items), g.smith[1])
            for k, (r, n) in enumerate(items):
                per_device.setdefault(name, []).append((key, k, r, n))
    for name, queue in per_device.items():
        view = views[name]
        queue.sort(key=lambda x: (x[0], x[1]))
        for _, _, r, n in queue:
            size = ledger.snapshot.contents[r.content]
            if ledger.ensure_cached(view, r.content, size) is None:
                continue  # pins leave no room: these copies wait (below)
            ledger.assign(view, r, n, size)
            placed[r.id] = placed.get(r.id, 0) + n
    for g in groups:
        short = [(r, r.copies - placed.get(r.id, 0)) for r in g.reqs]
        short = [(r, left) for r, left in short if left > 0]
        if not short:
            continue
        empty = [d.name for d in g.cands if ledger.blanks(d, g.media) <= 0]
        if empty:
            reason = f"waiting for blank {g.media}: every online device that writes it is empty"
        else:
            reason = (
                f"no online device can take {g.media} {g.content!r} now"
                " (offline, or caches pinned full); re-plan when that changes"
            )
        for r, left in short:
            ledger.wait(r, left, reason, empty=empty)

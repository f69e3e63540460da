# Batch allocation: how much of each (content, media) group each device plans to burn.
#
# Invariants: every pooled copy of every group ends up in exactly one Piece
# of a device that writes its media and can cache its content, or stays
# pooled when no online device can (the caller keeps it queued). The LP sees
# device classes (identical media speeds) and size buckets (sizes within 8%),
# so its size is independent of the fleet and queue sizes; its solution is
# rounded to whole copies per class, then spread over the class's devices
# McNaughton-style (each device filled to the class's common end in turn), so
# a group lands on few devices and is downloaded few times. Devices that
# already hold a content are filled with it first, and burn it before the
# titles they must fetch (so it is not evicted first); a device that cannot fetch
# ahead (small cache) is charged its link time for each title it is given;
# within a class, the slowest links are filled first (with the largest groups),
# and the LP charges each class the drive time its devices lose switching titles.
# A local search then gathers each group on one device (a holder of its content,
# or one given part of it or of its content) when that saves a fetch and leaves
# that device's predicted end within the LP's end, or no later than the spread's.
"""LP relaxation (HiGHS) + rounding + wrap-around + regrouping for the standing plan."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from discflow.scheduler._pool import Piece, Waiter
from discflow.scheduler._state import DeviceState

ClassKey = tuple[tuple[tuple[str, float, float], ...], int]
_BUCKET_RATIO = math.log(1.08)
# A device fetches the next title while burning only when its cache holds
# this many of it; otherwise each title it is given costs its drives the
# link time, weighted so (gen-batch-10000x200, seeds 1-3: worst makespan /
# bound 1.096 -> 1.064; 1, 0.5 and 4 did worse on the worst seed; the 8-device
# fleets, whose caches hold two of their largest discs, are unchanged).
FETCH_AHEAD_FACTOR = 2.0
FETCH_STALL_WEIGHT = 2.0
# A fetch longer than a device's horizon idles its drives at each title switch;
# the LP charges that per copy (slow-scarce-batch seeds 1-4 1.109-1.134 ->
# 1.072-1.095 x bound, gen-batch-10000x200 worst 1.065 -> 1.053; 0.5 and 2 did
# worse on the worst seed of some case).
SWITCH_STALL_WEIGHT = 1.0


@dataclass(slots=True)
class Group:
    """Pooled copies of one (content, media) pair."""

    content: str
    media: str
    size: int
    waiters: list[Waiter]
    copies: int = 0


@dataclass(slots=True)
class _Class:
    devices: list[DeviceState]
    drives: int
    backlog_s: float  # drive seconds already queued on its devices
    assigned: list[tuple[Group, int]] = field(default_factory=list)


def class_key(d: DeviceState, largest: int) -> ClassKey:
    """Same media speeds, and the same cache limit if the cache is what limits it."""
    speeds = tuple(sorted((m, s.write_Bps, s.overhead_s) for m, s in d.stock.items()))
    return (speeds, d.cache_bytes if d.cache_bytes < largest else -1)


def _backlog(d: DeviceState, now: float) -> float:
    return sum(max(free, now) - now for free, _ in d.drives)


def allocate(
    groups: Sequence[Group],
    devices: Sequence[DeviceState],
    *,
    now: float,
    holders: dict[str, dict[str, None]],
) -> dict[str, list[Piece]]:
    """Pieces per device name, each list in the order the device should burn them."""
    classes: dict[ClassKey, _Class] = {}
    largest = max((g.size for g in groups), default=0)
    for d in devices:
        c = classes.setdefault(class_key(d, largest), _Class([], 0, 0.0))
        c.devices.append(d)
        c.drives += d.drive_count
        c.backlog_s += _backlog(d, now)
    keys = list(classes)
    shares, lp_end = _class_shares(groups, keys, [classes[k] for k in keys])
    for g, per_class in zip(groups, shares, strict=True):
        for k, n in per_class:
            classes[keys[k]].assigned.append((g, n))
    share: dict[str, list[tuple[Group, int]]] = {}
    for c in classes.values():
        _spread(c, now, holders, share)
    by_name = {d.name: d for d in devices}
    if lp_end is not None:
        # imported here: _regroup prices moves with this module's title costs
        from discflow.scheduler._regroup import regroup

        share = regroup(share, by_name, now, holders, lp_end)
    out: dict[str, list[Piece]] = {}
    for name, items in share.items():
        _pieces(by_name[name], items, out.setdefault(name, []))
    for name, pieces in out.items():
        # Held contents first: burned before fetches fill the cache, they are
        # not evicted and fetched again later (gen-batch-10000x200 worst seed
        # 1.052 -> 1.048 x bound, mixed-batch downloads -0.5 to -5%).
        cache = by_name[name].cache
        pieces.sort(
            key=lambda p: (
                p.waiter.request.content not in cache,
                p.key,
                p.copies,
                p.waiter.request.seq,
            )
        )
    return out


def _burn(key: ClassKey, media: str, size: float) -> float | None:
    for m, write, overhead in key[0]:
        if m == media:
            return overhead + size / write
    return None


def _class_shares(
    groups: Sequence[Group], keys: list[ClassKey], classes: list[_Class]
) -> tuple[list[list[tuple[int, int]]], float | None]:
    """Whole copies of each group per class index, from the LP over size buckets,
    and the LP's end (drive seconds from now; None if it was not solved)."""
    buckets: dict[tuple[str, int], list[int]] = {}
    for gi, g in enumerate(groups):
        b = (g.media, int(math.log(max(g.size, 1)) / _BUCKET_RATIO))
        buckets.setdefault(b, []).append(gi)
    fractions, lp_end = _solve(groups, buckets, keys, classes)
    out: list[list[tuple[int, int]]] = [[] for _ in groups]
    for b, members in buckets.items():
        want = dict(fractions.get(b, {}))
        # Largest groups first take whole shares from the class with most room left.
        for gi in sorted(members, key=lambda i: (-groups[i].copies, i)):
            g = groups[gi]
            capable = [k for k in want if _fits(classes[k], g)]
            if not capable:
                capable = [k for k, c in enumerate(classes) if _fits(c, g)]
                if not capable:
                    continue  # stays pooled: nobody online can take it
            left = g.copies
            ordered = sorted(capable, key=lambda k: (-want.get(k, 0.0), k))
            for pos, k in enumerate(ordered):
                if left <= 0:
                    break
                room = want.get(k, 0.0)
                last = pos == len(ordered) - 1
                n = left if room >= left - 0.5 or last else int(room + 0.5)
                if n <= 0:
                    continue
                n = min(n, left)
                want[k] = room - n
                out[gi].append((k, n))
                left -= n
            if left > 0:
                out[gi].append((capable[0], left))
    return out, lp_end


def _fits(c: _Class, g: Group) -> bool:
    return any(d.can_write(g.media, g.size) for d in c.devices)


def _solve(
    groups: Sequence[Group],
    buckets: dict[tuple[str, int], list[int]],
    keys: list[ClassKey],
    classes: list[_Class],
) -> tuple[dict[tuple[str, int], dict[int, float]], float | None]:
    """Copies of each bucket per class: least T with every class's work <= drives x T
    (and that T, None when the LP could not be solved)."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    ub_rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    eq_rows: list[int] = []
    var_of: list[tuple[tuple[str, int], int]] = []
    rhs: list[float] = []
    bucket_list = list(buckets)
    for bi, b in enumerate(bucket_list):
        members = buckets[b]
        copies = sum(groups[i].copies for i in members)
        size = sum(groups[i].size * groups[i].copies for i in members) / max(copies, 1)
        rhs.append(float(copies))
        for k, key in enumerate(keys):
            burn = _burn(key, b[0], size)
            if burn is None or not all(_fits(classes[k], groups[i]) for i in members):
                continue
            var_of.append((b, k))
            ub_rows.append(k)
            cols.append(len(var_of))
            vals.append(burn + _switch_stall(classes[k], [groups[i] for i in members], copies))
            eq_rows.append(bi)
    if not var_of:
        return {}, None
    for k, c in enumerate(classes):
        ub_rows.append(k)
        cols.append(0)
        vals.append(-float(c.drives))
    nvar = len(var_of) + 1
    a_ub = coo_matrix((vals, (ub_rows, cols)), shape=(len(keys), nvar)).tocsr()
    a_eq = coo_matrix(
        (np.ones(len(eq_rows)), (eq_rows, list(range(1, nvar)))), shape=(len(bucket_list), nvar)
    ).tocsr()
    cost = np.zeros(nvar)
    cost[0] = 1.0
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.array([-c.backlog_s for c in classes]),
        A_eq=a_eq,
        b_eq=np.array(rhs),
        bounds=(0, None),
        method="highs",
    )
    out: dict[tuple[str, int], dict[int, float]] = {}
    if res.status != 0:  # e.g. a bucket no class can take: spread by drives instead
        for b, k in var_of:
            out.setdefault(b, {})[k] = float(classes[k].drives)
        return out, None
    for j, (b, k) in enumerate(var_of, start=1):
        x = float(res.x[j])
        if x > 1e-6:
            out.setdefault(b, {})[k] = x
    return out, float(res.x[0])


def _switch_stall(c: _Class, members: Sequence[Group], copies: int) -> float:
    """Drive seconds per copy a class loses switching titles: a title's fetch
    starts within a device's horizon of the drive that needs it, so a fetch
    longer than that idles the device's drives (one switch per group)."""
    titles = [g for g in members if not any(g.content in d.cache for d in c.devices)]
    if not titles:
        return 0.0
    size = sum(g.size for g in titles) / len(titles)
    lost = sum(d.drive_count * max(0.0, size / d.link_Bps - d.horizon_s) for d in c.devices) / len(
        c.devices
    )
    return SWITCH_STALL_WEIGHT * lost * len(titles) / max(copies, 1)


def _spread(
    c: _Class,
    now: float,
    holders: dict[str, dict[str, None]],
    share: dict[str, list[tuple[Group, int]]],
) -> None:
    """Fill the class's devices to a common end: holders first, then wrap-around."""
    if not c.assigned:
        return
    media_of = {g.media for g, _ in c.assigned}
    any_dev = c.devices[0]
    work = sum(n * any_dev.burn_s(g.media, g.size) for g, n in c.assigned if g.media in media_of)
    end = (work + c.backlog_s) / c.drives
    room = {d.name: max(0.0, end * d.drive_count - _backlog(d, now)) for d in c.devices}
    by_name = {d.name: d for d in c.devices}
    rest: list[tuple[Group, int]] = []
    for g, n in sorted(c.assigned, key=lambda x: (-x[1] * x[0].size, x[0].content, x[0].media)):
        burn = any_dev.burn_s(g.media, g.size)
        for name in holders.get(g.content, {}):
            d = by_name.get(name)
            if d is None or n <= 0 or not d.can_write(g.media, g.size):
                continue
            take = min(n, int(room[name] / burn + 0.5))
            if take > 0:
                share.setdefault(name, []).append((g, take))
                room[name] -= take * burn
                n -= take
        if n > 0:
            rest.append((g, n))
    # Slowest link first: the wrap hands out the largest groups first, so the
    # devices that fetch slowest get the fewest titles for their drive time
    # (slow-scarce-batch seed 5: the slowest DVD device fetched 41 titles,
    # 84k s of downloads against a 62k s bound, when it came after a faster twin).
    order = sorted(c.devices, key=lambda d: (d.link_Bps, d.name))
    if all(_title_cost(d, g.size) <= 0 for d in c.devices for g, _ in rest):
        # A title switch costs these devices nothing, so more titles per device
        # are free and a group split is a second fetch: pack whole groups.
        _pack(order, rest, room, any_dev, share)
        return
    pos = 0
    for g, n in rest:
        burn = any_dev.burn_s(g.media, g.size)
        tries = 0
        while n > 0 and tries < len(order):
            d = order[pos % len(order)]
            stall = _fetch_stall(d, g.size)
            fits = d.can_write(g.media, g.size)
            take = min(n, int((room[d.name] - stall) / burn + 0.5)) if fits else 0
            if take > 0:
                share.setdefault(d.name, []).append((g, take))
                room[d.name] -= take * burn + stall
                n -= take
                tries = 0
            if n > 0:
                pos += 1
                tries += 1
        if n > 0:  # rounding left copies over: the roomiest capable device takes them
            fit = [d for d in order if d.can_write(g.media, g.size)]
            if fit:
                d = max(fit, key=lambda d: (room[d.name], d.name))
                _give(share, room, d, g, n, burn)


@dataclass(slots=True)
class _Unplaced:
    """Copies of a group the pack has not given to a device yet."""

    group: Group
    copies: int


def _give(
    share: dict[str, list[tuple[Group, int]]],
    room: dict[str, float],
    d: DeviceState,
    g: Group,
    n: int,
    burn: float,
) -> None:
    share.setdefault(d.name, []).append((g, n))
    room[d.name] -= n * burn


def _pack(
    order: list[DeviceState],
    rest: list[tuple[Group, int]],
    room: dict[str, float],
    any_dev: DeviceState,
    share: dict[str, list[tuple[Group, int]]],
) -> None:
    """The wrap, but a group too big for this device's room that a later device
    can take whole (within half a disc of its room) is left to that device.

    The wrap splits the group at each device's end, a second fetch: mixed-batch
    seed 2 split a 7 GB DVD+R DL title of 863 copies between its two DL writers,
    the 1-drive one first; now it goes whole to the 4-drive one."""
    left = [_Unplaced(g, n) for g, n in rest]
    reserved = dict.fromkeys(room, 0.0)  # work left whole to a later device
    for i, d in enumerate(order):
        split: _Unplaced | None = None
        for item in left:
            g, n = item.group, item.copies
            if n <= 0 or not d.can_write(g.media, g.size):
                continue
            burn = any_dev.burn_s(g.media, g.size)
            if n * burn <= room[d.name] - reserved[d.name] + 0.5 * burn:
                _give(share, room, d, g, n, burn)
                item.copies = 0
                continue
            later = _whole_on(order[i + 1 :], g, n * burn + 0.5 * burn, room, reserved)
            if later is None:
                split = item
                break
            reserved[later.name] += n * burn
        if split is not None:
            g, n = split.group, split.copies
            burn = any_dev.burn_s(g.media, g.size)
            take = min(n, int((room[d.name] - reserved[d.name]) / burn + 0.5))
            if take > 0:
                _give(share, room, d, g, take, burn)
                split.copies = n - take
        reserved[d.name] = 0.0
    for item in left:
        g, n = item.group, item.copies
        fit = [d for d in order if d.can_write(g.media, g.size)]
        if n > 0 and fit:
            d = max(fit, key=lambda d: (room[d.name], d.name))
            _give(share, room, d, g, n, any_dev.burn_s(g.media, g.size))


def _whole_on(
    later: list[DeviceState],
    g: Group,
    work: float,
    room: dict[str, float],
    reserved: dict[str, float],
) -> DeviceState | None:
    """The first of ``later`` with room for ``work`` of ``g`` besides what it is left."""
    for d in later:
        if d.can_write(g.media, g.size) and work <= room[d.name] - reserved[d.name]:
            return d
    return None


def _title_cost(d: DeviceState, size: int) -> float:
    """Drive seconds a title not held costs a device: the fetch-ahead stall of a
    small cache plus the switch stall of a fetch longer than its horizon."""
    switch = max(0.0, size / d.link_Bps - d.horizon_s)
    return _fetch_stall(d, size) + SWITCH_STALL_WEIGHT * d.drive_count * switch


def _fetch_stall(d: DeviceState, size: int) -> float:
    """Drive seconds a device loses fetching a content it cannot fetch ahead: a
    cache too small to hold it beside the one being burned makes its drives
    wait for the download (a switch of title costs its link time)."""
    if d.cache_bytes >= FETCH_AHEAD_FACTOR * size:
        return 0.0
    return FETCH_STALL_WEIGHT * d.drive_count * size / d.link_Bps


def _pieces(d: DeviceState, items: list[tuple[Group, int]], out: list[Piece]) -> None:
    """Split each group's share over its waiters; the group's Smith key orders them."""
    for g, n in items:
        setup = 0.0 if g.content in d.cache else g.size / d.link_Bps
        work = n * d.burn_s(g.media, g.size) / d.drive_count
        takers = sorted(g.waiters, key=lambda w: (-w.weight, w.pooled, w.request.seq))
        pieces: list[Piece] = []
        for w in takers:
            if n <= 0:
                break
            take = min(n, w.pooled)
            if take > 0:
                pieces.append(Piece(w, take, 0.0))
                w.pooled -= take  # the caller re-indexes the pool afterwards
                n -= take
        per_request = (work + setup) / max(1, len(pieces))
        for p in pieces:
            p.key = p.waiter.urgency(per_request)
        out.extend(pieces)

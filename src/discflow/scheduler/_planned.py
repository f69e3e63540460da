# Planned work of the standing plan: the LP re-plan and work stealing.
#
# Invariants: a re-plan first returns every unbound planned copy to the pool,
# so the allocation sees the whole queue once; afterwards each copy is in
# exactly one Piece or still pooled. ``victims`` is, per media, a lazy
# max-heap of devices with planned copies of it, keyed by ``planned_key`` (a
# time-free estimate of when their planned work ends, so the index does not go
# stale as the clock moves; ``victim_key`` holds each entry's live key and
# older entries are dropped when popped). Every change to a device's key is
# re-indexed (``note_planned``) where it is made, except a reload landing or
# a notice going out, which mark the device ``unindexed`` until its next
# visit: so the newest entry of any other device is its live key, and only
# unindexed devices are re-keyed when popped. A steal moves whole copies from the
# end of the victim's list (its least urgent work) to the thief, only when the
# thief finishes them sooner by STEAL_GAIN_S, and as many as even out the two;
# an LP share the thief would have to fetch is taken only from a victim whose
# end is near the latest known one (FETCH_STEAL_NEAR).
"""Re-plan (LP allocation of the queue) and stealing between devices."""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Final

from discflow.scheduler._allocate import Group, allocate
from discflow.scheduler._keyheap import KeyHeap
from discflow.scheduler._pool import Piece
from discflow.scheduler._state import DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner

# Steal planned work only when it finishes at least this much sooner.
STEAL_GAIN_S: Final = 60.0
# A steal of an LP share whose content the thief must fetch is a second
# download of a title the plan gave one device; it shortens the batch only when
# the victim is among the last to end: its remaining time within this share of
# the latest known end's (mixed-batch seed 2 downloads 0.213 -> 0.205 x
# first-available at the same makespan; 0.02-0.2 gave 0.2047-0.2060).
FETCH_STEAL_NEAR = 0.05
# A device that failed to steal tries again this much later at the earliest,
# even if some planned work's end moved later since (a steal is worth at
# least STEAL_GAIN_S; this bounds the attempts per device).
STEAL_RETRY_S: Final = 60.0


# Planned work below this (rounding left-overs) is no work.
_NO_WORK_S: Final = 1e-6
# Devices looked at per steal: the last few to finish per media, a few tried.
_VICTIMS_PER_MEDIA: Final = 3
_VICTIMS_TRIED: Final = 6
# A key this much later counts as a later end (float noise does not).
_KEY_SLACK_S: Final = 1.0


def replan(planner: DiscflowPlanner, now: float) -> None:
    """Allocate every copy not yet bound over the online devices (LP + rounding)."""
    planner.last_replan = now
    for st in planner.devices.values():
        for piece in st.quota:
            if piece.copies > 0:
                was = piece.waiter.pooled
                piece.waiter.pooled += piece.copies
                planner.pool.changed(piece.waiter, was)
        st.quota = deque()
        st.quota_work = 0.0
        st.quota_copies = {}
    planner.planned_copies = 0
    by_key: dict[tuple[str, str], Group] = {}
    before: dict[int, int] = {}
    for w in planner.waiters.values():
        if w.pooled <= 0:
            continue
        q = w.request
        g = by_key.setdefault((q.content, q.media), Group(q.content, q.media, w.size, []))
        g.waiters.append(w)
        g.copies += w.pooled
        before[id(w)] = w.pooled
    online = [st for st in planner.devices.values() if st.online]
    shares = allocate(list(by_key.values()), online, now=now, holders=planner.holders)
    for g in by_key.values():
        for w in g.waiters:
            if w.pooled != before[id(w)]:
                planner.pool.changed(w, before[id(w)])
    planner.victims.clear()
    for st in planner.devices.values():
        st.victim_key = {}
    for st in online:
        pieces = shares.get(st.name, [])
        if not pieces:
            continue
        st.quota = deque(pieces)
        st.quota_work = sum(
            p.copies * st.burn_s(p.waiter.request.media, p.waiter.size) for p in pieces
        )
        copies = st.quota_copies
        for p in pieces:
            media = p.waiter.request.media
            copies[media] = copies.get(media, 0) + p.copies
            planner.planned_copies += p.copies
        note_planned(planner, st)
        planner.wake(st, max(now, st.drives[0][0] - st.horizon_s))


def backlog_end(planner: DiscflowPlanner, st: DeviceState, now: float) -> float:
    drives = st.drives
    queued = 0.0
    for free, _ in drives:  # sum(max(free, now)), without the generator (hot)
        queued += free if free > now else now
    return queued / len(drives) + st.quota_work / len(drives)


def planned_key(planner: DiscflowPlanner, st: DeviceState) -> float:
    """When ``st``'s planned work would end, as a key that does not move with time.

    Mean drive free time plus planned burn time per drive; a device whose
    planned work waits for blanks ends no sooner than its reload lands (never,
    if none was asked for). It changes only when the device's drives, plan or
    blanks do, so the steal index stays valid as time passes (it equals
    ``backlog_end`` whenever every drive is busy)."""
    drives = st.drives
    total = 0.0
    for free, _ in drives:  # the sum of free times, without sum(map(...))'s calls (hot)
        total += free
    base = total / len(drives)
    planned = st.quota_copies
    for media, left in st.blanks.items():
        if planned.get(media, 0) > left:
            base = max(base, st.reload_lands.get(media, math.inf))
    return base + st.quota_work / len(drives)


def note_planned(planner: DiscflowPlanner, st: DeviceState) -> None:
    """Index ``st`` for stealing under its current key, per media it has planned
    copies of (one live entry per device and media)."""
    st.unindexed = False
    if st.quota_work <= _NO_WORK_S:
        return
    key = planned_key(planner, st)
    for media in st.stock:
        old = st.victim_key.get(media)
        if st.quota_copies.get(media, 0) <= 0 or old == key:
            continue
        heap = planner.victims.get(media)
        if heap is None:
            heap = planner.victims[media] = KeyHeap()
        later = old is None or key > old + _KEY_SLACK_S
        if later and (not heap.entries or key > -heap.top().key):
            # A new last end: a steal of this media that failed may not now
            # (steals look at the last few to finish; the retry timer covers
            # a device that moved later without becoming the last).
            planner.steal_epoch[media] = planner.steal_epoch.get(media, 0) + 1
        st.victim_key[media] = key
        heap.push(-key, st.rank)
        if len(heap) > 4 * len(planner.devices) + 64:
            planner.victims[media] = KeyHeap(
                (-k, dev.rank)
                for dev in planner.devices.values()
                if (k := dev.victim_key.get(media)) is not None
            )


def _next_victim(planner: DiscflowPlanner, media: str) -> tuple[float, str] | None:
    """Pop the device whose planned ``media`` work ends last (stale entries dropped)."""
    heap = planner.victims.get(media)
    while heap is not None and heap.entries:
        popped = heap.pop()
        stored, name = popped.key, planner.ranked[popped.tie]
        dev = planner.devices[name]
        if dev.victim_key.get(media) != -stored:
            continue  # superseded by a newer entry
        if dev.quota_copies.get(media, 0) <= 0:
            del dev.victim_key[media]
            continue
        if not dev.unindexed:
            # Every change to a device's key but a reload or notice re-indexes it
            # where it is made, so the newest entry holds its live key.
            return -stored, name
        key = planned_key(planner, dev)
        if key != -stored:
            dev.victim_key[media] = key
            heap.push(-key, dev.rank)
            continue
        return key, name
    return None


def steal(
    planner: DiscflowPlanner, st: DeviceState, now: float, usable: list[str], skip: set[int]
) -> Piece | None:
    """Take planned work from the device that would finish last, if sooner here.

    A failed steal is remembered until some planned work of a media it can
    burn ends later (``steal_epoch``) or the thief changes (next free drive,
    download queue, usable media), and retried at most every STEAL_RETRY_S
    otherwise: while nothing planned ends later, the thief's earliest start
    only moves later, so the attempt would fail again (but for victims with
    idle drives, whose ends creep with the clock: the retry catches those)."""
    remember = not skip
    epoch = planner.steal_epoch
    epochs = tuple([epoch.get(m, 0) for m in usable])
    thief = (*usable, st.drives[0][0], st.download_free_s)
    failed = st.steal_failed
    if remember and failed is not None and failed[1] == thief:
        if failed[0] == epochs or now < failed[2] + STEAL_RETRY_S:
            return None
    free = st.next_free(now)
    popped: list[tuple[float, str, str]] = []
    soonest_of: dict[str, float] = {}
    for media in usable:
        # No planned work ending before this could be finished sooner here (a
        # disc of the smallest content of this media takes at least that long).
        # An entry's key is never below its device's live key (every change
        # that raises one re-indexes it), so a top at or under it ends the search.
        soonest = free + st.smallest_burn[media] + STEAL_GAIN_S
        soonest_of[media] = soonest
        heap = planner.victims.get(media)
        if heap is None or not heap.entries or -heap.top().key <= soonest:
            continue
        for _ in range(_VICTIMS_PER_MEDIA):
            top = _next_victim(planner, media)
            if top is None:
                break
            popped.append((top[0], top[1], media))
            if top[0] <= soonest:
                break
    taken: Piece | None = None
    victim_name = st.name
    tried: set[str] = {st.name}
    # (most attempts pop nothing: every index empty or ending too soon)
    # Victims popped, the last to end first (ties by name, then popped order: a
    # stable sort by (-key, name) without a key function called per entry).
    order = sorted([(-key, name, i) for i, (key, name, _) in enumerate(popped)]) if popped else []
    for _, _, index in order:
        key, name, media = popped[index]
        if len(tried) > _VICTIMS_TRIED:
            break
        if name in tried or key <= soonest_of[media]:
            continue
        tried.add(name)
        victim = planner.devices[name]
        taken = take_from(planner, st, victim, backlog_end(planner, victim, now), now, usable, skip)
        if taken is not None:
            victim_name = name
            break
    for key, name, media in popped:
        dev = planner.devices[name]
        if dev.victim_key.get(media) == key:
            planner.victims[media].push(-key, dev.rank)
    if taken is not None:
        # The thief and its victim changed; a device tried in vain did not, so
        # needs indexing only if a reload or notice moved it (``unindexed``).
        for name in tried:
            dev = planner.devices[name]
            if name in (st.name, victim_name) or dev.unindexed:
                note_planned(planner, dev)
    elif remember:
        st.steal_failed = (epochs, thief, now)
    return taken


def _latest_end(planner: DiscflowPlanner) -> float:
    """When the last planned work ends (``planned_key``), over the devices whose end
    is known (one waiting for a reload not asked for has none)."""
    latest = -math.inf
    for st in planner.devices.values():
        if st.quota_work > _NO_WORK_S:
            key = planned_key(planner, st)
            if key > latest and not math.isinf(key):
                latest = key
    return latest


def take_from(
    planner: DiscflowPlanner,
    st: DeviceState,
    victim: DeviceState,
    end: float,
    now: float,
    usable: list[str],
    skip: set[int],
) -> Piece | None:
    queue = victim.quota
    latest: float | None = None
    for piece in reversed(queue):
        q = piece.waiter.request
        if (
            piece.copies <= 0
            or q.media not in usable
            or id(piece.waiter) in skip
            or not st.can_write(q.media, piece.waiter.size)
        ):
            continue
        size = piece.waiter.size
        start = max(st.next_free(now), st.ready_estimate(q.content, size, now))
        mine = st.burn_s(q.media, size)
        theirs = victim.burn_s(q.media, size)
        victim_end = end
        if victim.blanks.get(q.media, 0) < piece.copies:
            victim_end = max(end, victim.reload_lands.get(q.media, end))
        if start + mine + STEAL_GAIN_S >= victim_end:
            return None  # its last piece is not worth moving; nor are earlier ones
        if not piece.started and q.content not in st.cache:
            # An LP share the thief must fetch: only from a victim near the last end.
            if latest is None:
                latest = _latest_end(planner)
            if victim_end - now < (1.0 - FETCH_STEAL_NEAR) * (latest - now):
                continue
        per_pair = mine / st.drive_count + theirs / victim.drive_count
        even = (victim_end - start) / per_pair  # inf: its reload's landing is unknown
        n = piece.copies if math.isinf(even) else max(1, min(piece.copies, int(even)))
        piece.copies -= n
        victim.quota_work -= n * theirs
        victim.quota_copies[q.media] -= n
        moved = Piece(piece.waiter, n, piece.key, started=piece.started)
        st.quota.append(moved)
        st.quota_work += n * mine
        st.quota_copies[q.media] = st.quota_copies.get(q.media, 0) + n
        return moved
    return None

# Planned work of the standing plan: the LP re-plan and work stealing.
#
# Invariants: a re-plan first returns every unbound planned copy to the pool,
# so the allocation sees the whole queue once; afterwards each copy is in
# exactly one Piece or still pooled. ``victims`` is a lazy max-heap of devices
# by when their planned work would end; a steal moves whole copies from the
# end of the victim's list (its least urgent work) to the thief, only when the
# thief finishes them sooner by STEAL_GAIN_S, and as many as even out the two.
"""Re-plan (LP allocation of the queue) and stealing between devices."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from discflow.scheduler._allocate import Group, allocate
from discflow.scheduler._pool import Piece
from discflow.scheduler._state import DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner

# Steal planned work only when it finishes at least this much sooner.
STEAL_GAIN_S = 60.0


def replan(planner: DiscflowPlanner, now: float) -> None:
    """Allocate every copy not yet bound over the online devices (LP + rounding)."""
    planner.last_replan = now
    for queue in planner.quota.values():
        for piece in queue:
            if piece.copies > 0:
                was = piece.waiter.pooled
                piece.waiter.pooled += piece.copies
                planner.pool.changed(piece.waiter, was, planner.holders)
    planner.quota.clear()
    planner.quota_work.clear()
    planner.quota_copies.clear()
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
                planner.pool.changed(w, before[id(w)], planner.holders)
    planner.victims = []
    for st in online:
        pieces = shares.get(st.name, [])
        if not pieces:
            continue
        planner.quota[st.name] = deque(pieces)
        planner.quota_work[st.name] = sum(
            p.copies * st.burn_s(p.waiter.request.media, p.waiter.size) for p in pieces
        )
        for p in pieces:
            key = (st.name, p.waiter.request.media)
            planner.quota_copies[key] = planner.quota_copies.get(key, 0) + p.copies
        planner.victims.append((-backlog_end(planner, st, now), st.name))
        planner.wake(st, max(now, st.drives[0][0] - st.horizon_s))
    heapq.heapify(planner.victims)


def backlog_end(planner: DiscflowPlanner, st: DeviceState, now: float) -> float:
    queued = sum(max(free, now) for free, _ in st.drives) / st.drive_count
    return queued + planner.quota_work.get(st.name, 0.0) / st.drive_count


def steal(
    planner: DiscflowPlanner, st: DeviceState, now: float, usable: list[str], skip: set[int]
) -> Piece | None:
    """Take planned work from the device that would finish last, if sooner here."""
    seen: list[tuple[float, str]] = []
    taken: Piece | None = None
    while planner.victims and len(seen) < 6 and taken is None:
        stored, name = heapq.heappop(planner.victims)
        victim = planner.devices[name]
        if not planner.quota.get(name):
            continue
        end = backlog_end(planner, victim, now)
        if abs(end + stored) > 1.0:
            heapq.heappush(planner.victims, (-end, name))
            seen.append((0.0, ""))  # counts towards the bound on lookups
            continue
        seen.append((-end, name))
        if name != st.name:
            taken = take_from(planner, st, victim, end, now, usable, skip)
    for item in seen:
        if item[1]:
            heapq.heappush(
                planner.victims, (-backlog_end(planner, planner.devices[item[1]], now), item[1])
            )
    return taken


def take_from(
    planner: DiscflowPlanner,
    st: DeviceState,
    victim: DeviceState,
    end: float,
    now: float,
    usable: list[str],
    skip: set[int],
) -> Piece | None:
    queue = planner.quota[victim.name]
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
        per_pair = mine / st.drive_count + theirs / victim.drive_count
        n = max(1, min(piece.copies, int((victim_end - start) / per_pair)))
        piece.copies -= n
        planner.quota_work[victim.name] -= n * theirs
        planner.quota_copies[(victim.name, q.media)] -= n
        moved = Piece(piece.waiter, n, piece.key)
        planner.quota.setdefault(st.name, deque()).append(moved)
        planner.quota_work[st.name] = planner.quota_work.get(st.name, 0.0) + n * mine
        mine_key = (st.name, q.media)
        planner.quota_copies[mine_key] = planner.quota_copies.get(mine_key, 0) + n
        return moved
    return None

# The pool's candidates for a device's free drive (``DiscflowPlanner._choose``).
#
# Invariant: the pool's heaps are left as found (entries passed over are pushed
# back), so looking costs no change to the standing plan; stale entries met on
# the way are dropped, as ``live`` does anywhere.
"""Which pooled requests a device looks at when a drive frees."""

from __future__ import annotations

from heapq import heappop, heappush
from typing import TYPE_CHECKING

from discflow.scheduler._pool import Entry, Waiter, live
from discflow.scheduler._state import DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner


def holder_sooner(planner: DiscflowPlanner, st: DeviceState, w: Waiter, now: float) -> bool:
    """Whether a device holding ``w``'s content starts it before a fetch here ends
    (the fetch after the room it needs is made: see ``DeviceState.room_at``)."""
    q = w.request
    if q.content in st.cache:
        return False
    fetched = st.ready_after_room(q.content, w.size, now)
    if fetched <= now:
        return False  # no holder's next_free (never before now) is earlier
    media, devices = q.media, planner.devices
    for name in planner.holders.get(q.content, {}):
        holder = devices[name]
        # holder.next_free(now) < fetched, inlined (hot): fetched > now here.
        if (
            holder.drives[0][0] < fetched
            and holder.online
            and holder.blanks.get(media, 0) > 0
            and media in holder.stock
        ):
            return True
    return False


def fetch_starts_by(st: DeviceState, w: Waiter, now: float, limit: float) -> bool:
    """Whether ``w``'s content is held here, or its fetch would start by ``limit``
    (``DeviceState.fetch_start``: after the link frees and room is made)."""
    return w.request.content in st.cache or st.fetch_start(w.size, now) <= limit


def pool_candidates(
    planner: DiscflowPlanner, st: DeviceState, usable: list[str], skip: set[int], now: float
) -> list[Waiter]:
    """The pool's best for each usable media this device can write (passing over a few
    that do not fit it, whose fetch could not start within its horizon, or that a
    holder of their content starts sooner), and its best among the contents it holds."""
    found: list[Waiter] = []
    pooled = planner.pool.copies
    usable = [m for m in usable if pooled.get(m, 0) > 0]  # the others have no candidate
    if not usable:
        return found
    held = planner.pool.best_held(st.cache, usable, skip)
    if held is not None:
        found.append(held)
    # A fetch that could not start within this device's horizon is not bound
    # here: a link- or cache-saturated device would hold the request idle
    # while another device starts it sooner (it stays pooled for them).
    fetch_by = now + st.horizon_s + 1e-6
    for m in usable:
        heap = planner.pool.heaps.get(m)
        if not heap:
            continue
        put_back: list[Entry] = []
        for _ in range(8):  # a few that do not fit this device are passed over
            entry = live(heap)
            if entry is None:
                break
            w = entry[3]
            if (
                id(w) not in skip
                and st.can_write(m, w.size)
                and fetch_starts_by(st, w, now, fetch_by)
                and not holder_sooner(planner, st, w, now)
            ):
                found.append(w)
                break
            put_back.append(heappop(heap))
        for entry in put_back:
            heappush(heap, entry)
    return found

# Which parked devices an arrival wakes (``DiscflowPlanner._arrive``).
#
# Invariants: holders of the request's content are woken first, soonest to
# finish one copy first (``_holders_by_finish``: a holder that writes several
# media counts its burn as longer), until their drives free within the horizon
# cover its copies; then a
# handful of parked writers of its media, quickest to finish one copy first:
# the first 4 x copies of them in ``writers`` order that have blanks and room,
# sorted by (when its fetch would end, after its link frees and room is made,
# plus one burn; name), so a device whose link or full cache is busy for long is
# woken after one that fetches now (only the order: counting such a device as
# covering none of the copies moved the mixed-online-rush p99 past
# first-available's on another seed, session 13).
# A device's ``parked`` flag and the planner's ``parked`` set change together,
# only in ``park``/``unpark``; the search walks ``writers`` (each media's, in
# order) and reads the flag: compiled, a flag read per writer costs less than
# keeping a sorted list of parked ranks per media at every park and unpark
# (BENCHMARKS.md, session 9).
"""Waking parked devices for a new request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discflow.scheduler._pool import Waiter
from discflow.scheduler._state import DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner


def wake_for(planner: DiscflowPlanner, w: Waiter, now: float) -> None:
    """Wake parked devices for a new request: holders first, then quickest finish."""
    parked = planner.parked
    if not parked:
        return
    q, size, need = w.request, w.size, w.pooled  # (waking changes no Waiter's pooled)
    covered = 0
    devices = planner.devices
    for _, _, st in _holders_by_finish(planner, w, now):
        if covered >= need:
            break
        planner.wake(st, now)
        # The holders woken share the copies (no fetch): none claims the
        # rest while another is still to look (see ``_bind``).
        st.expected.append(w)
        w.expected += 1
        # Only drives that free soon count: a busy holder may lose to a fetch.
        covered += st.drives_free_by(now + st.horizon_s)
    if covered >= need:
        return
    media, content, want = q.media, q.content, 4 * max(1, need)
    seen: list[tuple[float, str]] = []
    for st in planner.writers.get(media, ()):  # in writers order
        # st.can_write(media, size), inlined (hot): every writer stocks media.
        if st.parked and st.blanks.get(media, 0) > 0 and size <= st.cache_bytes:
            # Its fetch ends after the link frees and room is made (a full cache
            # of busy contents waits for their burns: see DeviceState.room_at);
            # before session 13 this was the fetch alone, as if the link were idle.
            ready = st.ready_after_room(content, size, now)
            seen.append((ready - now + st.burn_s(media, size), st.name))
            if len(seen) >= want:
                break
    seen.sort()
    for _, name in seen:
        if covered >= need:
            break
        st = devices[name]
        planner.wake(st, now)
        covered += st.drive_count


def _holders_by_finish(
    planner: DiscflowPlanner, w: Waiter, now: float
) -> list[tuple[float, int, DeviceState]]:
    """The parked holders of ``w``'s content that can burn it, soonest to finish
    one copy first: (start + burn x media written, rank, device).

    The start is its next drive or the content's ready time, whichever is later.
    Its burn is counted once per media it writes: a device that writes several
    is the one other requests may need, so of two holders that finish about as
    soon, the one that writes fewer media is woken. Before session 14 holders
    were woken in holder order, so a busy or slow holder found first took the
    request while an idle fast one stayed parked (gen-poisson seed 2: of 5,078
    1-copy requests, 626 finished 30 s or more later than on another holder
    whose drive was free for their whole burn at their arrival)."""
    q, size = w.request, w.size
    media, devices = q.media, planner.devices
    found: list[tuple[float, int, DeviceState]] = []
    for name in planner.holders.get(q.content, {}):  # waking changes no holder
        st = devices[name]
        if st.parked and st.blanks.get(media, 0) > 0:  # (blanks: it writes media)
            free = st.next_free(now)
            ready = st.ready_estimate(q.content, size, now)  # (held: its ready time)
            start = free if free > ready else ready
            found.append((start + st.burn_s(media, size) * len(st.stock), st.rank, st))
    if len(found) > 1:
        # Most arrivals are covered by the first holder woken: put the soonest
        # first with one pass, and sort the rest only when it is not enough.
        first = min(found)
        if _covers(first[2], w, now):
            return [first]
        found.sort()
    return found


def _covers(st: DeviceState, w: Waiter, now: float) -> bool:
    """Whether ``st``'s drives free within its horizon cover ``w``'s pooled copies."""
    return st.drives_free_by(now + st.horizon_s) >= w.pooled


def park(planner: DiscflowPlanner, st: DeviceState) -> None:
    """``st`` waits for an arrival, a reload or a re-plan to wake it."""
    if st.parked:
        return
    st.parked = True
    planner.parked[st.name] = None


def unpark(planner: DiscflowPlanner, st: DeviceState) -> None:
    if not st.parked:
        return
    st.parked = False
    del planner.parked[st.name]

# Which parked devices an arrival wakes (``DiscflowPlanner._arrive``).
#
# Invariants: holders of the request's content are woken first, in holder
# order, until their drives free within the horizon cover its copies; then a
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
    for name in planner.holders.get(q.content, {}):  # waking changes no holder
        if covered >= need:
            break
        st = devices[name]
        if not st.parked:
            continue
        if st.blanks.get(q.media, 0) > 0:
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

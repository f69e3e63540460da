# Which parked devices an arrival wakes (``DiscflowPlanner._arrive``).
#
# Invariants: holders of the request's content are woken first, in holder
# order, until their drives free within the horizon cover its copies; then a
# handful of parked writers of its media, quickest to finish one copy first:
# the first 4 x copies of them in ``writers`` order that have blanks and room,
# sorted by (fetch + burn time, name). ``parked_writers`` keeps, per media,
# the writer ranks of the parked devices in order (``park``/``unpark`` are
# the only changes to ``parked``), so the search walks the parked writers
# only, not every writer (most devices are busy at load).
"""Waking parked devices for a new request."""

from __future__ import annotations

from bisect import bisect_left, insort
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
        if name not in parked:
            continue
        st = devices[name]
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
    media, want = q.media, 4 * max(1, need)
    names = planner.writers.get(media, [])
    seen: list[tuple[float, str]] = []
    for rank in planner.parked_writers.get(media, ()):  # the parked writers, in writers order
        name = names[rank]
        st = devices[name]
        # st.can_write(media, size), inlined (hot): every writer stocks media.
        if st.blanks.get(media, 0) > 0 and size <= st.cache_bytes:
            seen.append((size / st.link_Bps + st.burn_s(media, size), name))
            if len(seen) >= want:
                break
    for _, name in sorted(seen):
        if covered >= need:
            break
        st = devices[name]
        planner.wake(st, now)
        covered += st.drive_count


def park(planner: DiscflowPlanner, st: DeviceState) -> None:
    """``st`` waits for an arrival, a reload or a re-plan to wake it."""
    if st.name in planner.parked:
        return
    planner.parked[st.name] = None
    for ranks, rank in _writer_ranks(planner, st):
        insort(ranks, rank)


def unpark(planner: DiscflowPlanner, st: DeviceState) -> None:
    if st.name not in planner.parked:
        return
    del planner.parked[st.name]
    for ranks, rank in _writer_ranks(planner, st):
        del ranks[bisect_left(ranks, rank)]


def _writer_ranks(planner: DiscflowPlanner, st: DeviceState) -> list[tuple[list[int], int]]:
    """Per media ``st`` writes: that media's parked-writer ranks and ``st``'s rank.

    Found once per device and kept on it (``parked_slots``): the media it
    writes, its ranks and the rank lists (changed in place) never change."""
    found = st.parked_slots
    if found is not None:
        return found
    found = []
    for media in st.stock:
        rank = planner.writer_rank.get(media, {}).get(st.name)
        if rank is not None:
            found.append((planner.parked_writers[media], rank))
    st.parked_slots = found
    return found

# Handing pooled work to a parked device that starts it sooner (late binding's
# other half: which device, not only which request).
#
# Why: a device binds work its drives start within its horizon, and on a slow
# link or a small cache that horizon is minutes long, so a 1-copy request could
# be bound to a drive that frees minutes later while other devices sat parked
# with idle drives (BENCHMARKS.md, "Online, session 7": 1-copy requests waited
# 119 s for a drive, against 2 s under first-available).
#
# Invariants:
# - Only parked devices are woken: they have nothing to do, so a hand-off takes
#   no drive time from other work, and a busy device's fetch-ahead is kept.
# - The work stays pooled (unbound): the woken device is visited in the same
#   round and takes the pool's best by its own ranking; a device that does not
#   take it leaves it for the next visit of the one that handed it off.
#   A request is handed to a device at most once a round (``Waiter.handed_to``):
#   a woken device that passes it over (not among the pool's first entries it
#   looks at, or its fetch would wait for room) parks again, and without the
#   limit devices could hand it on in a cycle for ever within one round (seen
#   with HANDOFF_GAIN_S at 15 s on gen-poisson seed 4: five devices, two
#   requests). At most once a round per request, not per device, would be
#   simpler but loses most of the hand-off's gain (gen-poisson mean 0.50-0.54 ->
#   0.57-0.61 of first-available's): a request handed on again usually finds a
#   device that takes it.
#   Directing the woken device to bind the handed request first cut planning
#   rounds by a tenth but raised gen-poisson's mean (0.52-0.61 -> 0.56-0.62 of
#   first-available's, session 11): its own most urgent request is worth more.
# - Asked only when the hand-off can pay: the caller's drive frees later than a
#   typical content's fetch on its link from now; a parked device must start
#   the work sooner by more than its own fetch of it plus HANDOFF_GAIN_S (a
#   second download costs the link even when it overlaps a burn).
# - Deterministic: the first such device in the media's writers order.
"""Wake a parked device that would start a pooled request sooner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from discflow.scheduler._pool import Waiter
from discflow.scheduler._state import DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner

# A hand-off must start the work at least this much sooner, beyond the woken
# device's own fetch (30 s cut gen-poisson's mean a little more but took
# slow-online's p99 past first-available's; 120 s gave up a third of the gain:
# BENCHMARKS.md, "Online, session 7"; 30 and 45 s again in "Online, session 11").
HANDOFF_GAIN_S: Final = 60.0


def worth_handing_off(planner: DiscflowPlanner, st: DeviceState, media: str, now: float) -> bool:
    """Whether ``st``'s next drive frees late enough for a hand-off to pay."""
    return st.drives[0][0] > now + planner.typical.get(media, 0.0) / st.link_Bps


def hand_off(
    planner: DiscflowPlanner, st: DeviceState, w: Waiter, now: float, *, one_round: bool
) -> bool:
    """Wake the first parked writer that starts ``w`` sooner than ``st`` by more than its
    own fetch plus HANDOFF_GAIN_S; whether one was woken (``w`` stays pooled)."""
    if not planner.parked:
        return False
    handed = w.handed_to if w.handed_s == now else None  # (this round's: see above)
    q, size = w.request, w.size
    media, content = q.media, q.content
    free = st.drives[0][0]
    ready = st.ready_estimate(content, size, now)
    start_here = free if free > ready else ready
    if start_here - now <= HANDOFF_GAIN_S:
        return False  # nobody starts it sooner by the gain
    for other in planner.writers.get(media, ()):
        # other.can_write(media, size), inlined (hot): every writer stocks media.
        if not other.parked or other is st or size > other.cache_bytes:
            continue
        if other.blanks.get(media, 0) <= 0 or (one_round and w.pooled > other.drive_count):
            continue
        if handed is not None and other.rank in handed:
            continue  # woken for it this round and passed it over
        fetch = 0.0 if content in other.cache else size / other.link_Bps
        ready_there = other.ready_estimate(content, size, now)
        there = other.drives[0][0]
        start_there = there if there > ready_there else ready_there
        if start_there + fetch + HANDOFF_GAIN_S < start_here:
            planner.wake(other, now)
            if handed is None:
                w.handed_s = now
                w.handed_to = [other.rank]
            else:
                handed.append(other.rank)
            return True
    return False

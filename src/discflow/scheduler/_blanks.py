# Blanks of the standing plan: reload notices ahead of time, and the stall rule.
#
# Invariants: at most one notice per (device, media) while its reload is on
# the way (``reload_lands``); a notice goes out when the blanks left would be
# used up within the reload delay plus a margin at the device's planned pace
# (its planned copies and its share of the pool, capped by what its drives
# can burn in that time) or its recent pace, or when they fall below the
# media's low threshold; when nothing will wake the planner while requests
# wait, every empty device that could serve one is asked for blanks.
"""Reload notices: asked for ahead of time, so reloads land before drives starve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from discflow.scheduler._model import OperatorNotice, Waiting
from discflow.scheduler._state import Decisions, DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner

# Ask for blanks this much earlier than the reload delay (and at least 2 min).
RELOAD_MARGIN: Final = 0.25
MIN_RELOAD_MARGIN_S: Final = 120.0


def check_reload(
    planner: DiscflowPlanner, st: DeviceState, media: str, now: float, out: Decisions
) -> None:
    """Ask for blanks when they would run out before a reload could land."""
    if media in st.reload_lands:
        return
    left = st.blanks.get(media, 0)
    if st.calm_blanks.get(media) == left:
        return  # passed the fast path below with these blanks; see there
    stock = st.stock[media]
    delay = planner.snapshot.operator.reload_delay_s
    window = delay + max(MIN_RELOAD_MARGIN_S, RELOAD_MARGIN * delay)
    # Fast path: the planned pace is capped by what the drives burn in the
    # window, so above that cap (and the low threshold) only the recent pace
    # can ask for blanks. Same answer as below, without summing the plan. It
    # stays the answer until the blanks change: only a burn planned here
    # raises the recent pace (and uses blanks), which otherwise decays.
    # (The cap is fixed per device and media: kept once computed.)
    cap = st.reload_cap.get(media)
    if cap is None:
        burn = st.burn_s(media, int(planner.typical.get(media, 0.0)))
        cap = st.reload_cap[media] = max(
            stock.low_threshold - 1, st.drive_count * window / max(burn, 1.0)
        )
    if left > cap and left > st.recent_use(media, now, window):
        st.calm_blanks[media] = left
        return
    burn = st.burn_s(media, int(planner.typical.get(media, 0.0)))
    planned = float(st.quota_copies.get(media, 0))
    capable = planner.writer_drives.get(media, 0)
    planned += planner.pool.copies.get(media, 0) * st.drive_count / max(1, capable)
    pace = min(planned, st.drive_count * window / max(burn, 1.0))
    demand = max(pace, st.recent_use(media, now, window))
    blocked = left == 0 and planned > 0
    if left >= stock.low_threshold and (left > demand or demand <= 0) and not blocked:
        return
    notice(
        planner,
        st,
        media,
        now,
        out,
        waiting=blocked_requests(planner, st, media) if left == 0 else 0,
    )


def blocked_requests(planner: DiscflowPlanner, st: DeviceState, media: str) -> int:
    mine = {
        p.waiter.request.id for p in st.quota if p.copies > 0 and p.waiter.request.media == media
    }
    pooled = {e[3].request.id for e in planner.pool.heaps.get(media, ()) if e[3].pooled > 0}
    return len(mine) or len(pooled)


def notice(
    planner: DiscflowPlanner,
    st: DeviceState,
    media: str,
    now: float,
    out: Decisions,
    *,
    waiting: int,
) -> None:
    count = planner.snapshot.operator.reload_count
    left = st.blanks.get(media, 0)
    noun = "request" if waiting == 1 else "requests"
    out.notices.append(
        OperatorNotice(
            st.name,
            media,
            count,
            waiting,
            f"Load {count} {media} into {st.name}: {waiting} {noun} waiting"
            f" ({left} blank{'' if left == 1 else 's'} left)",
        )
    )
    st.reload_lands[media] = now + planner.snapshot.operator.reload_delay_s
    st.unindexed = True  # its steal key may wait for this reload now


def stalled(planner: DiscflowPlanner, now: float, out: Decisions) -> None:
    """Nothing will wake: ask for blanks on every empty device that could serve a waiter."""
    asked: set[tuple[str, str]] = set()
    for w in planner.waiters.values():
        q = w.request
        for st in planner.writers.get(q.media, ()):
            name = st.name
            if (
                (name, q.media) not in asked
                and st.blanks.get(q.media, 0) <= 0
                and q.media not in st.reload_lands
                and st.can_write(q.media, w.size)
            ):
                asked.add((name, q.media))
                notice(
                    planner, st, q.media, now, out, waiting=blocked_requests(planner, st, q.media)
                )


def waiting_entries(planner: DiscflowPlanner, out: Decisions) -> None:
    for w in planner.waiters.values():
        media = w.request.media
        empty = all(st.blanks.get(media, 0) <= 0 for st in planner.writers.get(media, ()))
        reason = (
            f"waiting for blank {media}: every online device that writes it is empty"
            if empty
            else "queued in the server: bound to a drive when one frees (late binding)"
        )
        out.waiting.append(Waiting(w.request.id, w.left, reason))

# The product's policy (claims 8 and 9): late binding over a standing plan.
#
# Invariants:
# - Only work a drive starts within its device's horizon (a content's fetch
#   time; the rest of a started request one drive round more) is bound to a
#   device; the rest stays in the server's queue (``Pool``/``Piece``), so a
#   short or rush request arriving later goes before long work not started.
# - At each drive's free moment the device takes the most urgent of: its own
#   planned piece (LP share, or the rest of a request it started: one fetch
#   per request, as in a print queue), the pool's best for its media, and the
#   pool's best whose content it already holds. Urgency is Smith's rule on
#   this device (setup + span, divided by the priority weight: rush 8, normal
#   1, low 0.25) plus linear aging (AGING_RATE x arrival time), so a request
#   is overtaken only by requests that arrived less than key / AGING_RATE
#   after it: that is the wait bound. A pooled request whose content a
#   holder will start before a fetch here would end is left to the holder.
#   With nothing to take, it steals planned work from the device that would
#   finish last, if it finishes that work sooner (a faster, idle or newly
#   stocked device). The rest of a request a device started goes first there
#   once DUE_FACTOR times its span on that device has passed since it arrived
#   (a wait bound that Smith's order with aging alone gives only in hours).
# - Before binding pooled work that its next drive starts later than a typical
#   content's fetch from now, and before claiming the rest of a request it
#   started, a device hands the work to a parked device that starts it sooner
#   by more than that device's own fetch plus HANDOFF_GAIN_S (``_handoff``):
#   it wakes that device and leaves the work pooled.
# - An arrival costs O(log n) pushes plus waking as many parked devices as
#   its copies need, holders of its content first; the holders woken share
#   its copies (no fetch), and none claims the rest of it while another is
#   still to look (``Waiter.expected``); a full re-plan (LP allocation of the whole
#   queue) runs when more copies arrive at once than the drives can bind soon
#   (a batch), and every REPLAN_INTERVAL_S while much planned work is left.
# - A device that parks (nothing to take) with an idle link and free cache room
#   fetches the content most asked for lately per device holding it, if its
#   fetch is short (``_prefetch``: the next order for it burns there at once);
#   the trickle's arrivals count as demand, a batch's do not.
# - Reload notices go out when a device's blanks of a media would run out
#   within the reload delay plus a margin at its planned or recent pace.
# - Deterministic: every iteration order is insertion or sort order.
"""The ``discflow`` policy: a standing, incrementally updated, late-bound plan."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from discflow.scheduler import _build as build
from discflow.scheduler._blanks import check_reload, stalled, waiting_entries
from discflow.scheduler._cache import CachePolicy
from discflow.scheduler._candidates import pool_candidates
from discflow.scheduler._handoff import hand_off, worth_handing_off
from discflow.scheduler._keyheap import KeyHeap
from discflow.scheduler._ledger import static_refusal
from discflow.scheduler._model import (
    DeviceView,
    Plan,
    QueuedRequest,
    Reloaded,
    Snapshot,
    Unplaceable,
)
from discflow.scheduler._planned import note_planned, replan, steal
from discflow.scheduler._pool import AGING_RATE, DUE_FACTOR, Piece, Pool, Waiter
from discflow.scheduler._prefetch import Demand, prefetch
from discflow.scheduler._state import Decisions, DeviceState
from discflow.scheduler._wake import park, unpark, wake_for

DEFAULT_CACHE_POLICY: CachePolicy = "gdsf"
# Re-plan the whole queue when more copies than this many per drive arrive at
# once, and while planned work is left, every REPLAN_INTERVAL_S (rebalancing).
REPLAN_COPIES_PER_DRIVE: Final = 4
REPLAN_INTERVAL_S: Final = 86400.0
# In Smith's rule a content not held costs at least this many fetch times.
DOWNLOAD_WEIGHT: Final = 1.0
# The rest of a started request (claimed, or stolen from its claimer) is bound
# this many drive rounds at a time: the drives free within the horizon plus
# every drive per extra round. Two take a quarter fewer planning rounds than
# one and keep a started request from being overtaken at every round; LP
# shares keep one, so a batch's end can still be stolen (BENCHMARKS.md).
STARTED_ROUNDS: Final = 2


@dataclass(slots=True, init=False)  # (its own __init__: compiled, see _pool's Waiter)
class _Choice:
    waiter: Waiter
    piece: Piece | None  # None: the copies come from the pool

    def __init__(self, waiter: Waiter, piece: Piece | None) -> None:
        self.waiter = waiter
        self.piece = piece


@dataclass(slots=True)
class DiscflowPlanner:
    """The standing plan; ``step`` is one planning round (pure: time is an argument)."""

    snapshot: Snapshot
    cache_policy: CachePolicy = DEFAULT_CACHE_POLICY
    devices: dict[str, DeviceState] = field(default_factory=dict)
    holders: dict[str, dict[str, None]] = field(default_factory=dict)
    waiters: dict[str, Waiter] = field(default_factory=dict)
    # Each device's planned share, wake time and steal memo live on its DeviceState
    # (quota, quota_work, quota_copies, wake_at, expected, victim_key, ...).
    planned_copies: int = 0  # sum of every device's quota_copies (asked every round)
    wakes: KeyHeap = field(default_factory=KeyHeap)  # (time, device rank); lazy, see wake
    parked: dict[str, None] = field(default_factory=dict)  # (see _wake: park, unpark)
    # Steal index (see _planned): media -> lazy max-heap of (-key, device rank).
    victims: dict[str, KeyHeap] = field(default_factory=dict)
    steal_epoch: dict[str, int] = field(default_factory=dict)  # media -> changes
    refusals: dict[tuple[str, str], str | None] = field(default_factory=dict)
    writer_views: dict[str, list[DeviceView]] = field(default_factory=dict)  # (static_refusal)
    last_replan: float = -math.inf
    pool: Pool = field(init=False)
    writers: dict[str, list[DeviceState]] = field(default_factory=dict)  # media -> online writers
    typical: dict[str, float] = field(default_factory=dict)  # media -> typical size
    smallest: dict[str, int] = field(default_factory=dict)  # media -> least size that fits
    writer_drives: dict[str, int] = field(default_factory=dict)  # media -> online drives
    online_drives: int = 0
    ranked: list[str] = field(default_factory=list)  # device names by DeviceState.rank
    decisions: Decisions = field(default_factory=Decisions)  # this round's (see Decisions.clear)
    demand: Demand = field(default_factory=Demand)  # the trickle's recent orders (_prefetch)

    def __post_init__(self) -> None:
        snap = self.snapshot
        sizes = sorted(snap.contents.values()) or [1]
        median = float(sizes[len(sizes) // 2])
        fastest: dict[str, tuple[float, float]] = {}
        # A device's rank is its name's place in sorted order: heaps keyed by
        # (time, rank) pop in the order (time, name) did.
        self.ranked = sorted(view.name for view in snap.devices)
        rank_of = {name: rank for rank, name in enumerate(self.ranked)}
        for view in snap.devices:
            typical = sizes[-1] if view.cache_bytes >= 2 * sizes[-1] else median  # see _state
            st = DeviceState.from_view(view, now=snap.now, typical_bytes=typical)
            st.rank = rank_of[st.name]
            self.devices[st.name] = st
            for c in st.cache:
                self.holders.setdefault(c, {})[st.name] = None
            if not st.online:
                continue
            self.parked[st.name] = None  # every online device starts parked
            st.parked = True
            self.online_drives += st.drive_count
            for m, s in st.stock.items():
                self.writers.setdefault(m, []).append(st)
                self.writer_drives[m] = self.writer_drives.get(m, 0) + st.drive_count
                overhead, write = fastest.get(m, (math.inf, 0.0))
                fastest[m] = (min(overhead, s.overhead_s), max(write, s.write_Bps))
        self.pool = Pool(fastest)
        for m in fastest:
            cap = snap.media_capacity.get(m, 0)
            fit = [s for s in sizes if s <= cap] or [cap]
            self.typical[m] = float(fit[len(fit) // 2])
            self.smallest[m] = fit[0]
        for st in self.devices.values():
            for m in st.stock:
                st.smallest_burn[m] = st.burn_s(m, self.smallest.get(m, 0))

    # ---- one round ----------------------------------------------------------

    def step(
        self,
        now: float,
        arrivals: Iterable[QueuedRequest] = (),
        reloads: Iterable[Reloaded] = (),
        *,
        list_waiting: bool = False,
    ) -> Plan:
        """Take in what happened since the last round and bind what starts soon."""
        out = self.decisions
        out.clear()
        for r in reloads:
            st = self.devices.get(r.device)
            if st is not None:
                st.reloaded(r.media, r.count)
                st.unindexed = True  # re-indexed at its visit, as before
                self.wake(st, now)
        arrived = 0
        accepted: list[QueuedRequest] = []
        for q in arrivals:
            if added := self._arrive(q, now, out):
                arrived += added
                accepted.append(q)
        limit = REPLAN_COPIES_PER_DRIVE * self.online_drives  # (a batch: more than this)
        if arrived <= limit:  # a trickle: its orders tell what is in demand (not a batch's)
            for q in accepted:
                self.demand.note(q)
        # A batch (more copies at once than the drives can bind soon) is allocated
        # by the LP; a trickle of arrivals goes through the pool in SRPT order,
        # which is what keeps mean completion low.
        if arrived > limit or (
            now - self.last_replan >= REPLAN_INTERVAL_S and self.planned_copies > limit
        ):
            replan(self, now)
        wakes = self.wakes
        while wakes.entries and wakes.top().key <= now:
            entry = wakes.pop()
            st = self.devices[self.ranked[entry.tie]]
            if st.wake_at == entry.key:
                st.wake_at = math.nan
                self._visit(st, now, out)
        if not wakes.entries and self.waiters:
            stalled(self, now, out)
        if list_waiting:
            waiting_entries(self, out)
        return build.plan(  # Plan(...), built faster (one a round; see _build)
            tuple(out.assignments),
            tuple(out.downloads),
            tuple(out.evictions),
            tuple(out.notices),
            tuple(out.waiting),
            tuple(out.unplaceable),
            wakes.top().key if wakes.entries else None,
        )

    def _arrive(self, q: QueuedRequest, now: float, out: Decisions) -> int:
        """Queue ``q`` (or refuse it); the copies it added to the pool."""
        key = (q.content, q.media)
        if key not in self.refusals:
            self.refusals[key] = static_refusal(
                self.snapshot, q.content, q.media, self.writer_views
            )
        reason = self.refusals[key]
        if reason is None and not self.writers.get(q.media):
            reason = f"no online device writes {q.media}"
        if reason is not None:
            out.unplaceable.append(Unplaceable(q.id, reason))
            return 0
        w = Waiter(q, self.snapshot.contents[q.content], q.copies, q.copies)
        self.waiters[q.id] = w
        self.pool.add(w)
        wake_for(self, w, now)
        return q.copies

    def wake(self, st: DeviceState, at: float) -> None:
        if not st.online:
            return
        unpark(self, st)
        if st.wake_at <= at:  # (False while none is due: NaN)
            return
        st.wake_at = at
        self.wakes.push(at, st.rank)

    def _visit(self, st: DeviceState, now: float, out: Decisions) -> None:
        """A device's drive frees within its horizon: bind its next work."""
        # The slack keeps a wake at (free - horizon) from missing its drive to rounding.
        limit = now + st.horizon_s + 1e-6
        skip: set[int] = set()
        if st.expected:
            for w in st.expected:
                w.expected -= 1
            st.expected = []
        while st.drives[0][0] <= limit:
            choice = self._choose(st, now, skip)
            if choice is None:
                break
            w = choice.waiter
            if (
                choice.piece is None
                and worth_handing_off(self, st, w.request.media, now)
                and hand_off(self, st, w, now, one_round=False)
            ):
                skip.add(id(w))  # left pooled for the parked device just woken
                continue
            self._bind(st, choice, now, limit, out, skip)
        calm, blanks, lands = st.calm_blanks, st.blanks, st.reload_lands
        for m in st.stock:
            # check_reload's first two early returns, without the call (hot).
            if m not in lands and calm.get(m, -1) != blanks.get(m, 0):  # (ints: a C compare)
                check_reload(self, st, m, now, out)
        # A notice or a reload may have moved when its planned work can go on;
        # otherwise every change to its key since was indexed where it was made.
        if st.unindexed:
            note_planned(self, st)
        if st.drives[0][0] > limit:
            self.wake(st, st.drives[0][0] - st.horizon_s)
            return
        # Idle with nothing worth taking now. While the pool holds work it could
        # do (left for a holder that may get busy), look again a horizon later.
        # Only work it can write counts: a device woken for pooled work it can never take
        # (content larger than its cache) would keep the planner awake forever, and
        # ``stalled`` (blanks asked for when nothing will wake) would never run.
        pooled = self.pool.copies
        for m, n in st.blanks.items():
            if n > 0 and pooled.get(m, 0) > 0 and self.pool.fits_any(m, st.cache_bytes):
                self.wake(st, now + st.horizon_s)
                break
        prefetch(self, st, now, out)  # idle: fetch what recent orders asked for most
        park(self, st)

    def _bind(
        self,
        st: DeviceState,
        choice: _Choice,
        now: float,
        limit: float,
        out: Decisions,
        skip: set[int],
    ) -> None:
        w, piece = choice.waiter, choice.piece
        q = w.request
        drives = st.drives_free_by(limit)
        if piece is None:
            available = w.pooled
        else:
            available = piece.copies
            if piece.started:
                drives += (STARTED_ROUNDS - 1) * st.drive_count
        # min(drives, available, blanks), as compares (a three-argument min() is a
        # generic call once compiled).
        n = drives if drives < available else available
        left = st.blanks.get(q.media, 0)
        if left < n:
            n = left
        # A held content needs nothing from ensure_cached (it would only report
        # when the content is ready): skip the call for it (most binds).
        if n <= 0 or (
            q.content not in st.cache
            and st.ensure_cached(
                q.content,
                w.size,
                now=now,
                policy=self.cache_policy,
                out=out,
                holders=self.holders,
                planned=lambda: self._planned_contents(st),
            )
            is None
        ):
            skip.add(id(w))
            return
        st.assign(q, n, w.size, now=now, out=out)
        w.left -= n
        if piece is not None:
            piece.copies -= n
            st.quota_work -= n * st.burn_s(q.media, w.size)
            st.quota_copies[q.media] -= n
            self.planned_copies -= n
        else:
            before = w.pooled
            w.pooled -= n
            # The rest stays with this device unless a parked one starts it sooner.
            if w.pooled > 0 and w.expected <= 0 and not hand_off(self, st, w, now, one_round=True):
                self._claim(st, w, now)
            self.pool.changed(w, before)
        if w.left == 0:
            del self.waiters[q.id]
        note_planned(self, st)

    def _planned_contents(self, st: DeviceState) -> set[str]:
        """Contents of the copies planned on ``st`` (kept in its cache when it can)."""
        return {p.waiter.request.content for p in st.quota if p.copies > 0}

    def _claim(self, st: DeviceState, w: Waiter, now: float) -> None:
        """The rest of a request this device started stays with it (one fetch, like
        a print queue), still unbound: shorter work may go first, and an idle
        device may take it over when that finishes it sooner."""
        q = w.request
        piece = Piece(w, w.pooled, 0.0, started=True)
        span = math.ceil(w.left / st.drive_count) * st.burn_s(q.media, w.size)
        due = q.arrival_s + DUE_FACTOR * span
        if due < w.due_s:  # (claimed again after a steal: the earlier due stands)
            w.due_s = due
        w.pooled = 0
        st.quota.appendleft(piece)
        st.quota_work += piece.copies * st.burn_s(q.media, w.size)
        st.quota_copies[q.media] = st.quota_copies.get(q.media, 0) + piece.copies
        self.planned_copies += piece.copies
        # (indexed for stealing by ``_bind``, the only caller, right after)

    # ---- choosing ------------------------------------------------------------

    def _choose(self, st: DeviceState, now: float, skip: set[int]) -> _Choice | None:
        usable = [m for m in st.stock if st.blanks.get(m, 0) > 0]
        if not usable:
            return None
        best: tuple[tuple[float, int], _Choice] | None = None
        piece = self._own_piece(st, usable, skip)
        if piece is not None and piece.started and piece.waiter.due_s <= now:
            return _Choice(piece.waiter, piece)  # a started rest past due (DUE_FACTOR)
        if piece is not None:
            best = (self._rank(st, piece.waiter, piece.copies, now), _Choice(piece.waiter, piece))
        for w in pool_candidates(self, st, usable, skip, now):
            rank = self._rank(st, w, w.pooled, now)
            if best is None or rank < best[0]:
                best = (rank, _Choice(w, None))
        if best is not None:
            return best[1]
        stolen = steal(self, st, now, usable, skip)
        return _Choice(stolen.waiter, stolen) if stolen is not None else None

    def _rank(self, st: DeviceState, w: Waiter, copies: int, now: float) -> tuple[float, int]:
        """Smith's rule on this device (setup plus span, per priority weight), aged."""
        # next_free, fetch_start, ready_estimate, burn_s and urgency inlined: same
        # sums, fewer calls (this runs for every candidate of every drive that
        # frees; fetch_start called here cost 3-4 % of the 100k planner CPU).
        q, size = w.request, w.size
        free = st.drives[0][0]
        if free < now:
            free = now
        entry = st.cache.get(q.content)
        if entry is not None:
            ready = entry.ready_s if entry.ready_s > now else now
            setup = ready - free if ready > free else 0.0
        else:
            fetch = size / st.link_Bps
            start = st.download_free_s if st.download_free_s > now else now
            if st.used_bytes + size > st.cache_bytes:  # waits for room (see room_at)
                room = st.room_at(size, start)
                if room > start:
                    start = room
            setup = start + fetch - free if start + fetch > free else 0.0
            # A fetch costs the link even when it overlaps a burn: prefer held contents.
            setup = max(setup, DOWNLOAD_WEIGHT * size / st.link_Bps)
        stock = st.stock[q.media]
        span = math.ceil(copies / st.drive_count) * (stock.overhead_s + size / stock.write_Bps)
        return ((setup + span) / w.weight + AGING_RATE * q.arrival_s, q.seq)

    def _own_piece(self, st: DeviceState, usable: list[str], skip: set[int]) -> Piece | None:
        queue = st.quota
        if not queue:
            return None
        while queue and queue[0].copies <= 0:
            queue.popleft()
        for piece in queue:
            if piece.copies > 0 and piece.waiter.request.media in usable:
                if id(piece.waiter) not in skip:
                    return piece
        return None


def plan_discflow(snapshot: Snapshot, *, cache_policy: CachePolicy = DEFAULT_CACHE_POLICY) -> Plan:
    """One round of the policy from a full snapshot (the live dispatcher's call).

    Binds only what drives start within their horizon; every other copy comes
    back in ``waiting`` and ``wake_s`` says when to ask again."""
    planner = DiscflowPlanner(snapshot, cache_policy)
    return planner.step(
        snapshot.now, sorted(snapshot.requests, key=lambda q: q.seq), list_waiting=True
    )


def start_discflow(
    snapshot: Snapshot, *, cache_policy: CachePolicy = DEFAULT_CACHE_POLICY
) -> DiscflowPlanner:
    """A standing planner for the simulator: feed it arrivals and reloads with ``step``."""
    return DiscflowPlanner(snapshot, cache_policy)

# The product's policy (claims 8 and 9): late binding over a standing plan.
#
# Invariants:
# - Only work a drive starts within its device's horizon (about one content's
#   fetch time) is bound to that device; everything else stays in the
#   server's queue (``Pool``/``Piece``), so a short or rush request arriving
#   later still goes before long work that has not started.
# - At each drive's free moment the device takes, in this order: a pooled
#   request that has waited longer than AGING_S (oldest first: the wait
#   bound); else the best of its own planned piece, the pool's best for its
#   media and the pool's best whose content it already holds, compared by
#   priority, then Smith's rule (setup + remaining work on this device);
#   else it steals planned work from the device that would finish last, if it
#   finishes that work sooner (a faster, idle or newly stocked device).
# - An arrival costs O(log n) pushes plus waking at most the parked devices
#   whose drives cover its copies; a full re-plan (LP allocation of the
#   whole queue) runs only when the pool outgrows what the drives can bind
#   (a batch), at most every REPLAN_MIN_INTERVAL_S.
# - Reload notices go out when a device's blanks of a media would run out
#   within the reload delay plus a margin at its planned or recent pace.
# - Deterministic: every iteration order is insertion or sort order.
"""The ``discflow`` policy: a standing, incrementally updated, late-bound plan."""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from discflow.scheduler._allocate import Group, allocate
from discflow.scheduler._cache import CachePolicy
from discflow.scheduler._ledger import static_refusal
from discflow.scheduler._model import (
    OperatorNotice,
    Plan,
    QueuedRequest,
    Reloaded,
    Snapshot,
    Unplaceable,
    Waiting,
)
from discflow.scheduler._pool import Piece, Pool, Waiter, live
from discflow.scheduler._state import Decisions, DeviceState

DEFAULT_CACHE_POLICY: CachePolicy = "gdsf"
# A pooled request waiting longer than this goes before everything else.
AGING_S = 3600.0
# Re-plan the whole queue when more copies are pooled than this many per drive.
REPLAN_COPIES_PER_DRIVE = 4
REPLAN_MIN_INTERVAL_S = 600.0
# In Smith's rule a content not held costs at least this many fetch times.
DOWNLOAD_WEIGHT = 1.0
# Steal planned work only when it finishes at least this much sooner.
STEAL_GAIN_S = 60.0
# Ask for blanks this much earlier than the reload delay (and at least 2 min).
RELOAD_MARGIN = 0.25
MIN_RELOAD_MARGIN_S = 120.0


@dataclass(slots=True)
class _Choice:
    waiter: Waiter
    piece: Piece | None  # None: the copies come from the pool


@dataclass(slots=True)
class DiscflowPlanner:
    """The standing plan; ``step`` is one planning round (pure: time is an argument)."""

    snapshot: Snapshot
    cache_policy: CachePolicy = DEFAULT_CACHE_POLICY
    devices: dict[str, DeviceState] = field(default_factory=dict)
    holders: dict[str, dict[str, None]] = field(default_factory=dict)
    waiters: dict[str, Waiter] = field(default_factory=dict)
    quota: dict[str, deque[Piece]] = field(default_factory=dict)
    quota_work: dict[str, float] = field(default_factory=dict)
    quota_copies: dict[tuple[str, str], int] = field(default_factory=dict)  # (device, media)
    wakes: list[tuple[float, str]] = field(default_factory=list)
    wake_at: dict[str, float] = field(default_factory=dict)
    parked: dict[str, None] = field(default_factory=dict)
    victims: list[tuple[float, str]] = field(default_factory=list)
    refusals: dict[tuple[str, str], str | None] = field(default_factory=dict)
    last_replan: float = -math.inf
    pool: Pool = field(init=False)
    writers: dict[str, list[str]] = field(default_factory=dict)  # media -> device names
    typical: dict[str, float] = field(default_factory=dict)  # media -> typical size
    writer_drives: dict[str, int] = field(default_factory=dict)  # media -> online drives
    online_drives: int = 0

    def __post_init__(self) -> None:
        snap = self.snapshot
        sizes = sorted(snap.contents.values()) or [1]
        median = float(sizes[len(sizes) // 2])
        fastest: dict[str, tuple[float, float]] = {}
        for view in snap.devices:
            st = DeviceState.from_view(view, now=snap.now, typical_bytes=median)
            self.devices[st.name] = st
            for c in st.cache:
                self.holders.setdefault(c, {})[st.name] = None
            if not st.online:
                continue
            self.parked[st.name] = None
            self.online_drives += st.drive_count
            for m, s in st.stock.items():
                self.writers.setdefault(m, []).append(st.name)
                self.writer_drives[m] = self.writer_drives.get(m, 0) + st.drive_count
                overhead, write = fastest.get(m, (math.inf, 0.0))
                fastest[m] = (min(overhead, s.overhead_s), max(write, s.write_Bps))
        self.pool = Pool(fastest)
        for m in fastest:
            cap = snap.media_capacity.get(m, 0)
            fit = [s for s in sizes if s <= cap] or [cap]
            self.typical[m] = float(fit[len(fit) // 2])

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
        out = Decisions()
        for r in reloads:
            st = self.devices.get(r.device)
            if st is not None:
                st.reloaded(r.media, r.count)
                self._wake(st, now)
        for q in arrivals:
            self._arrive(q, now, out)
        pooled = sum(self.pool.copies.values())
        if (
            pooled > REPLAN_COPIES_PER_DRIVE * self.online_drives
            and now - self.last_replan >= REPLAN_MIN_INTERVAL_S
        ):
            self.replan(now)
        while self.wakes and self.wakes[0][0] <= now:
            t, name = heapq.heappop(self.wakes)
            if self.wake_at.get(name) == t:
                del self.wake_at[name]
                self._visit(self.devices[name], now, out)
        if not self.wakes and self.waiters:
            self._stalled(now, out)
        if list_waiting:
            self._list_waiting(out)
        return Plan(
            assignments=tuple(out.assignments),
            downloads=tuple(out.downloads),
            evictions=tuple(out.evictions),
            notices=tuple(out.notices),
            waiting=tuple(out.waiting),
            unplaceable=tuple(out.unplaceable),
            wake_s=self.wakes[0][0] if self.wakes else None,
        )

    def _arrive(self, q: QueuedRequest, now: float, out: Decisions) -> None:
        key = (q.content, q.media)
        if key not in self.refusals:
            self.refusals[key] = static_refusal(self.snapshot, q.content, q.media)
        reason = self.refusals[key]
        if reason is None and not self.writers.get(q.media):
            reason = f"no online device writes {q.media}"
        if reason is not None:
            out.unplaceable.append(Unplaceable(q.id, reason))
            return
        w = Waiter(q, self.snapshot.contents[q.content], q.copies, q.copies)
        self.waiters[q.id] = w
        self.pool.add(w, self.holders)
        self._wake_for(w, now)

    def _wake_for(self, w: Waiter, now: float) -> None:
        """Wake parked devices for a new request: holders first, then quickest finish."""
        if not self.parked:
            return
        q, size = w.request, w.size
        covered = 0
        for name in list(self.holders.get(q.content, {})):
            st = self.devices[name]
            if name in self.parked and st.blanks.get(q.media, 0) > 0:
                self._wake(st, now)
                covered += st.drive_count
        if covered >= w.pooled:
            return
        # A handful of parked writers, quickest to finish one copy first.
        seen: list[tuple[float, str]] = []
        for name in self.writers.get(q.media, ()):
            st = self.devices[name]
            if (
                name in self.parked
                and st.blanks.get(q.media, 0) > 0
                and st.can_write(q.media, size)
            ):
                finish = size / st.link_Bps + st.burn_s(q.media, size)
                seen.append((finish, name))
                if len(seen) >= 4 * max(1, w.pooled):
                    break
        for _, name in sorted(seen):
            if covered >= w.pooled:
                break
            st = self.devices[name]
            self._wake(st, now)
            covered += st.drive_count

    def _wake(self, st: DeviceState, at: float) -> None:
        if not st.online:
            return
        self.parked.pop(st.name, None)
        old = self.wake_at.get(st.name)
        if old is not None and old <= at:
            return
        self.wake_at[st.name] = at
        heapq.heappush(self.wakes, (at, st.name))

    def _visit(self, st: DeviceState, now: float, out: Decisions) -> None:
        """A device's drive frees within its horizon: bind its next work."""
        # The slack keeps a wake at (free - horizon) from missing its drive to rounding.
        limit = now + st.horizon_s + 1e-6
        skip: set[int] = set()
        while st.drives[0][0] <= limit:
            choice = self._choose(st, now, skip)
            if choice is None:
                break
            self._bind(st, choice, now, limit, out, skip)
        for m in st.stock:
            self._check_reload(st, m, now, out)
        if st.drives[0][0] > limit:
            self._wake(st, st.drives[0][0] - st.horizon_s)
        else:
            self.parked[st.name] = None

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
        available = piece.copies if piece is not None else w.pooled
        n = min(st.drives_free_by(limit), available, st.blanks.get(q.media, 0))
        had = q.content in st.cache
        if n <= 0 or (
            st.ensure_cached(
                q.content,
                w.size,
                now=now,
                policy=self.cache_policy,
                out=out,
                holders=self.holders,
            )
            is None
        ):
            skip.add(id(w))
            return
        if not had:
            self.pool.downloaded(st.name, q.content)
        st.assign(q, n, w.size, now=now, out=out)
        w.left -= n
        if piece is not None:
            piece.copies -= n
            self.quota_work[st.name] -= n * st.burn_s(q.media, w.size)
            self.quota_copies[(st.name, q.media)] -= n
        else:
            w.pooled -= n
            self.pool.changed(w, w.pooled + n, self.holders)
        if w.left == 0:
            del self.waiters[q.id]

    # ---- choosing ------------------------------------------------------------

    def _choose(self, st: DeviceState, now: float, skip: set[int]) -> _Choice | None:
        usable = [m for m in st.stock if st.blanks.get(m, 0) > 0]
        if not usable:
            return None
        oldest: Waiter | None = None
        for m in usable:
            w = self.pool.oldest(m)
            if (
                w is not None
                and now - w.request.arrival_s >= AGING_S
                and id(w) not in skip
                and st.can_write(m, w.size)
                and (oldest is None or w.request.seq < oldest.request.seq)
            ):
                oldest = w
        if oldest is not None:
            return _Choice(oldest, None)
        best: tuple[tuple[int, float, int], _Choice] | None = None
        piece = self._own_piece(st, usable, skip)
        if piece is not None:
            if now - piece.waiter.request.arrival_s >= AGING_S:
                return _Choice(piece.waiter, piece)  # planned work ages too
            best = (self._rank(st, piece.waiter, piece.copies, now), _Choice(piece.waiter, piece))
        for w in self._pool_candidates(st, usable, skip):
            rank = self._rank(st, w, w.pooled, now)
            if best is None or rank < best[0]:
                best = (rank, _Choice(w, None))
        if best is not None:
            return best[1]
        stolen = self._steal(st, now, usable, skip)
        return _Choice(stolen.waiter, stolen) if stolen is not None else None

    def _rank(self, st: DeviceState, w: Waiter, copies: int, now: float) -> tuple[int, float, int]:
        """Priority first, then Smith's rule: setup plus this request's span here."""
        q = w.request
        free = st.next_free(now)
        setup = max(0.0, st.ready_estimate(q.content, w.size, now) - free)
        if q.content not in st.cache:
            # A fetch costs the link even when it overlaps a burn: prefer held contents.
            setup = max(setup, DOWNLOAD_WEIGHT * w.size / st.link_Bps)
        span = math.ceil(copies / st.drive_count) * st.burn_s(q.media, w.size)
        return (w.order, setup + span, q.seq)

    def _own_piece(self, st: DeviceState, usable: list[str], skip: set[int]) -> Piece | None:
        queue = self.quota.get(st.name)
        if not queue:
            return None
        while queue and queue[0].copies <= 0:
            queue.popleft()
        for piece in queue:
            if piece.copies > 0 and piece.waiter.request.media in usable:
                if id(piece.waiter) not in skip:
                    return piece
        return None

    def _pool_candidates(self, st: DeviceState, usable: list[str], skip: set[int]) -> list[Waiter]:
        found: list[Waiter] = []
        local = self.pool.local.get(st.name)
        if local:
            put_back = []
            while len(put_back) < 8 and (entry := live(local)) is not None:
                w = entry[4]
                if w.request.content not in st.cache:
                    heapq.heappop(local)  # evicted since; a new download pushes it again
                elif w.request.media not in usable or id(w) in skip:
                    put_back.append(heapq.heappop(local))
                else:
                    found.append(w)
                    break
            for entry in put_back:
                heapq.heappush(local, entry)
        for m in usable:
            heap = self.pool.heaps.get(m)
            if not heap:
                continue
            put_back = []
            for _ in range(8):  # a few that do not fit this device are passed over
                entry = live(heap)
                if entry is None:
                    break
                w = entry[4]
                if id(w) not in skip and st.can_write(m, w.size):
                    found.append(w)
                    break
                put_back.append(heapq.heappop(heap))
            for entry in put_back:
                heapq.heappush(heap, entry)
        return found

    # ---- planned work: re-plan and stealing ----------------------------------

    def replan(self, now: float) -> None:
        """Allocate every copy not yet bound over the online devices (LP + rounding)."""
        self.last_replan = now
        for name, queue in self.quota.items():
            for piece in queue:
                if piece.copies > 0:
                    before = piece.waiter.pooled
                    piece.waiter.pooled += piece.copies
                    self.pool.changed(piece.waiter, before, self.holders)
        self.quota.clear()
        self.quota_work.clear()
        self.quota_copies.clear()
        by_key: dict[tuple[str, str], Group] = {}
        before: dict[int, int] = {}
        for w in self.waiters.values():
            if w.pooled <= 0:
                continue
            q = w.request
            g = by_key.setdefault((q.content, q.media), Group(q.content, q.media, w.size, []))
            g.waiters.append(w)
            g.copies += w.pooled
            before[id(w)] = w.pooled
        online = [st for st in self.devices.values() if st.online]
        shares = allocate(
            list(by_key.values()), online, now=now, holders=self.holders, aged_s=AGING_S
        )
        for g in by_key.values():
            for w in g.waiters:
                if w.pooled != before[id(w)]:
                    self.pool.changed(w, before[id(w)], self.holders)
        self.victims = []
        for st in online:
            pieces = shares.get(st.name, [])
            if not pieces:
                continue
            self.quota[st.name] = deque(pieces)
            self.quota_work[st.name] = sum(
                p.copies * st.burn_s(p.waiter.request.media, p.waiter.size) for p in pieces
            )
            for p in pieces:
                key = (st.name, p.waiter.request.media)
                self.quota_copies[key] = self.quota_copies.get(key, 0) + p.copies
            self.victims.append((-self._backlog_end(st, now), st.name))
            self._wake(st, max(now, st.drives[0][0] - st.horizon_s))
        heapq.heapify(self.victims)

    def _backlog_end(self, st: DeviceState, now: float) -> float:
        queued = sum(max(free, now) for free, _ in st.drives) / st.drive_count
        return queued + self.quota_work.get(st.name, 0.0) / st.drive_count

    def _steal(
        self, st: DeviceState, now: float, usable: list[str], skip: set[int]
    ) -> Piece | None:
        """Take planned work from the device that would finish last, if sooner here."""
        seen: list[tuple[float, str]] = []
        taken: Piece | None = None
        while self.victims and len(seen) < 6 and taken is None:
            stored, name = heapq.heappop(self.victims)
            victim = self.devices[name]
            if not self.quota.get(name):
                continue
            end = self._backlog_end(victim, now)
            if abs(end + stored) > 1.0:
                heapq.heappush(self.victims, (-end, name))
                seen.append((0.0, ""))  # counts towards the bound on lookups
                continue
            seen.append((-end, name))
            if name != st.name:
                taken = self._take_from(st, victim, end, now, usable, skip)
        for item in seen:
            if item[1]:
                heapq.heappush(
                    self.victims, (-self._backlog_end(self.devices[item[1]], now), item[1])
                )
        return taken

    def _take_from(
        self,
        st: DeviceState,
        victim: DeviceState,
        end: float,
        now: float,
        usable: list[str],
        skip: set[int],
    ) -> Piece | None:
        queue = self.quota[victim.name]
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
            self.quota_work[victim.name] -= n * theirs
            self.quota_copies[(victim.name, q.media)] -= n
            moved = Piece(piece.waiter, n, piece.key)
            self.quota.setdefault(st.name, deque()).append(moved)
            self.quota_work[st.name] = self.quota_work.get(st.name, 0.0) + n * mine
            mine_key = (st.name, q.media)
            self.quota_copies[mine_key] = self.quota_copies.get(mine_key, 0) + n
            return moved
        return None

    # ---- blanks --------------------------------------------------------------

    def _check_reload(self, st: DeviceState, media: str, now: float, out: Decisions) -> None:
        """Ask for blanks when they would run out before a reload could land."""
        if media in st.reload_lands:
            return
        stock = st.stock[media]
        left = st.blanks.get(media, 0)
        delay = self.snapshot.operator.reload_delay_s
        window = delay + max(MIN_RELOAD_MARGIN_S, RELOAD_MARGIN * delay)
        burn = st.burn_s(media, int(self.typical.get(media, 0.0)))
        planned = float(self.quota_copies.get((st.name, media), 0))
        capable = self.writer_drives.get(media, 0)
        planned += self.pool.copies.get(media, 0) * st.drive_count / max(1, capable)
        pace = min(planned, st.drive_count * window / max(burn, 1.0))
        demand = max(pace, st.recent_use(media, now, window))
        blocked = left == 0 and planned > 0
        if left >= stock.low_threshold and (left > demand or demand <= 0) and not blocked:
            return
        self._notice(
            st, media, now, out, waiting=self._blocked_requests(st, media) if left == 0 else 0
        )

    def _blocked_requests(self, st: DeviceState, media: str) -> int:
        mine = {
            p.waiter.request.id
            for p in self.quota.get(st.name, ())
            if p.copies > 0 and p.waiter.request.media == media
        }
        return len(mine) or sum(1 for w in self.pool.by_arrival.get(media, ()) if w.pooled > 0)

    def _notice(
        self, st: DeviceState, media: str, now: float, out: Decisions, *, waiting: int
    ) -> None:
        count = self.snapshot.operator.reload_count
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
        st.reload_lands[media] = now + self.snapshot.operator.reload_delay_s

    def _stalled(self, now: float, out: Decisions) -> None:
        """Nothing will wake: ask for blanks on every empty device that could serve a waiter."""
        asked: set[tuple[str, str]] = set()
        for w in self.waiters.values():
            q = w.request
            for name in self.writers.get(q.media, ()):
                st = self.devices[name]
                if (
                    (name, q.media) not in asked
                    and st.blanks.get(q.media, 0) <= 0
                    and q.media not in st.reload_lands
                    and st.can_write(q.media, w.size)
                ):
                    asked.add((name, q.media))
                    self._notice(st, q.media, now, out, waiting=self._blocked_requests(st, q.media))

    def _list_waiting(self, out: Decisions) -> None:
        for w in self.waiters.values():
            media = w.request.media
            empty = all(
                self.devices[n].blanks.get(media, 0) <= 0 for n in self.writers.get(media, ())
            )
            reason = (
                f"waiting for blank {media}: every online device that writes it is empty"
                if empty
                else "queued in the server: bound to a drive when one frees (late binding)"
            )
            out.waiting.append(Waiting(w.request.id, w.left, reason))


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

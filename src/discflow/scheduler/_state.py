# The standing planner's own model of each device, kept across rounds.
#
# Invariants: a DeviceState changes only through ``ensure_cached``,
# ``assign`` and ``reloaded``, which follow exactly the physical rules the
# simulator and the validator check (burns on the earliest free drive after
# the content is ready, one download at a time in commit order, a download
# after the evictions that make room for it, cache bytes within capacity, no
# more blanks promised than loaded). So the planner's estimates are the
# simulator's times, and a caller that applies the Plan in step order sees
# the same world the planner predicted. ``holders`` (content -> devices that
# hold or fetch it) is updated by the same calls, so the index never drifts;
# so is ``evictable`` (the cache's eviction order, told of every entry stored).
"""Mutable per-device state of the standing plan, and the Plan builder."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from heapq import heapify
from typing import Final

from discflow.scheduler import _build as build
from discflow.scheduler._cache import CachePolicy, EvictionOrder, evict_at
from discflow.scheduler._commit import add_assignment, evict_for, queue_burns
from discflow.scheduler._model import (
    Assignment,
    CachedContent,
    DeviceView,
    Download,
    Eviction,
    MediaStock,
    OperatorNotice,
    QueuedRequest,
    Unplaceable,
    Waiting,
)
from discflow.scheduler._pool import Piece, Waiter


@dataclass(slots=True, init=False)  # (its own __init__: compiled, see _pool's Waiter)
class Decisions:
    """The decisions of one round, numbered in the order they must be carried out."""

    assignments: list[Assignment]
    downloads: list[Download]
    evictions: list[Eviction]
    notices: list[OperatorNotice]
    waiting: list[Waiting]
    unplaceable: list[Unplaceable]
    step: int

    def __init__(self) -> None:
        self.assignments = []
        self.downloads = []
        self.evictions = []
        self.notices = []
        self.waiting = []
        self.unplaceable = []
        self.step = 0

    def next_step(self) -> int:
        self.step += 1
        return self.step

    def clear(self) -> None:
        """Empty, for the next round (the standing planner keeps one: a round's
        Plan copies the lists, and six new lists a round cost more than clearing)."""
        self.assignments.clear()
        self.downloads.clear()
        self.evictions.clear()
        self.notices.clear()
        self.waiting.clear()
        self.unplaceable.clear()
        self.step = 0


@dataclass(slots=True)
class DeviceState:
    """One device as the standing plan sees it (see the module comment)."""

    name: str
    drives: list[tuple[float, int]]  # heap of (free time, drive index)
    stock: dict[str, MediaStock]  # speeds and thresholds per media
    blanks: dict[str, int]
    reload_lands: dict[str, float]  # media -> when the reload asked for lands
    cache: dict[str, CachedContent]
    used_bytes: int
    cache_bytes: int
    link_Bps: float  # noqa: N815 - the unit is part of the name across the project
    download_free_s: float
    horizon_s: float  # bind work this long before a drive frees (fetch ahead)
    online: bool = True
    # Blanks burned lately, decayed with the reload window (see ``recent_use``).
    use_rate: dict[str, tuple[float, float]] = field(default_factory=dict)
    # ``choose_victims`` over ``cache`` without a sort per fetch; built at the
    # first fetch that needs room, then told of every entry stored.
    evictable: EvictionOrder | None = None
    drive_count: int = field(init=False)  # len(drives), which never changes
    rank: int = -1  # the name's place in sorted order (set by the planner; see _keyheap)
    parked: bool = False  # waits for an event to wake it (see _wake: park, unpark)
    # The standing plan's share of this device (see _planned): its planned pieces
    # in order, their burn time, copies per media, the steal index's live key per
    # media, and the wake due (NaN: none). Kept here, not in the planner's dicts
    # keyed by (device, media): a field read costs a fraction of a tuple-keyed lookup.
    quota: deque[Piece] = field(default_factory=deque)
    quota_work: float = 0.0
    quota_copies: dict[str, int] = field(default_factory=dict)
    victim_key: dict[str, float] = field(default_factory=dict)
    unindexed: bool = False  # its blanks or reload changed since note_planned indexed it
    steal_failed: tuple[object, tuple[object, ...], float] | None = None  # (see steal)
    smallest_burn: dict[str, float] = field(default_factory=dict)  # media -> steal's floor
    wake_at: float = math.nan
    expected: list[Waiter] = field(default_factory=list)  # woken for these, not yet looked
    # media -> blanks left when check_reload last found them plenty (see there).
    calm_blanks: dict[str, int] = field(default_factory=dict)
    # media -> check_reload's fast-path cap (fixed: drives, typical burn, reload delay).
    reload_cap: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.drive_count = len(self.drives)

    @classmethod
    def from_view(cls, view: DeviceView, *, now: float, typical_bytes: float) -> DeviceState:
        drives = [(free, i) for i, free in enumerate(view.drives_free_s)]
        heapify(drives)
        return cls(
            name=view.name,
            drives=drives,
            stock=dict(view.media),
            blanks={m: s.blanks for m, s in view.media.items()},
            reload_lands={m: math.inf for m, s in view.media.items() if s.reload_pending},
            cache=dict(view.cached),
            used_bytes=sum(c.size_bytes for c in view.cached.values()),
            cache_bytes=view.cache_bytes,
            link_Bps=view.link_Bps,
            download_free_s=view.download_free_s,
            horizon_s=horizon_for(typical_bytes, view.link_Bps),
            online=view.online,
        )

    # The hot helpers below avoid max() and generator sums: they run a few
    # hundred thousand times per 10k requests (same values, less CPU).
    def next_free(self, now: float) -> float:
        free = self.drives[0][0]
        return free if free > now else now

    def drives_free_by(self, limit: float) -> int:
        count = 0
        for free, _ in self.drives:
            if free <= limit:
                count += 1
        return count

    def burn_s(self, media: str, size_bytes: int) -> float:
        stock = self.stock[media]  # MediaStock.burn_s inlined (same sum)
        return stock.overhead_s + size_bytes / stock.write_Bps

    def can_write(self, media: str, size_bytes: int) -> bool:
        return media in self.stock and size_bytes <= self.cache_bytes

    def ready_estimate(self, content: str, size_bytes: int, now: float) -> float:
        """When ``content`` could be ready here by its link alone (ignores waits
        for busy victims: see ``ready_after_room``)."""
        entry = self.cache.get(content)
        if entry is not None:
            ready = entry.ready_s
            return ready if ready > now else now
        free = self.download_free_s
        return (free if free > now else now) + size_bytes / self.link_Bps

    def ready_after_room(self, content: str, size_bytes: int, now: float) -> float:
        """When ``content`` could be ready here: held, its ready time; else a fetch
        starting at ``fetch_start``.

        Used where a device is weighed for a new fetch (Smith's setup, the pool's
        pass-over and holder test, an arrival's wake order). The hand-off and steal
        tests keep the link-only ``ready_estimate``: a variant with this one there
        too (and a stricter wake count) took the mixed-online-rush p99 over
        first-available's on 3 of 8 seeds, against none (BENCHMARKS.md, "Online,
        session 13", variant A)."""
        if content in self.cache:
            return self.ready_estimate(content, size_bytes, now)
        return self.fetch_start(size_bytes, now) + size_bytes / self.link_Bps

    def fetch_start(self, size_bytes: int, now: float) -> float:
        """When a fetch of ``size_bytes`` (a content not held) could start here:
        after the link frees and after room is made (``room_at``)."""
        free = self.download_free_s
        start = free if free > now else now
        if self.used_bytes + size_bytes > self.cache_bytes:
            room = self.room_at(size_bytes, start)
            if room > start:
                start = room
        return start

    def room_at(self, size_bytes: int, now: float) -> float:
        """The earliest time (at least ``now``) by which evicting unpinned entries
        whose burns have ended frees room for a fetch of ``size_bytes`` (of a
        content not held here); inf if pins forbid.

        Why: a fetch into a full cache waits for its victims' promised burns, so
        a device whose cache is all busy is later than its link alone says (the
        same rule ``ensure_cached`` follows through ``evict_for``)."""
        need = self.used_bytes + size_bytes - self.cache_bytes
        if need <= 0:
            return now
        if size_bytes > self.cache_bytes:
            return math.inf
        # Entries free by now first, without a sort: most of a cache is idle (only
        # the few contents its drives burn are busy), so this usually ends early.
        later: list[tuple[float, int]] = []
        for entry in self.cache.values():
            if entry.pinned:
                continue
            at = evict_at(entry, now)
            if at <= now:
                need -= entry.size_bytes
                if need <= 0:
                    return now
            else:
                later.append((at, entry.size_bytes))
        later.sort()
        for at, size in later:
            need -= size
            if need <= 0:
                return at
        return math.inf

    def ensure_cached(
        self,
        content: str,
        size_bytes: int,
        *,
        now: float,
        policy: CachePolicy,
        out: Decisions,
        holders: dict[str, dict[str, None]],
        planned: Callable[[], Collection[str]] = tuple,
    ) -> float | None:
        """Make ``content`` available here; its ready time, or None if pins forbid.

        ``planned`` gives the contents this device's planned work needs (asked
        only when something must be evicted: they are evicted last)."""
        entry = self.cache.get(content)
        if entry is not None:
            return max(entry.ready_s, now)
        if size_bytes > self.cache_bytes:
            return None
        need = self.used_bytes + size_bytes - self.cache_bytes
        order = self.evictable
        if need > 0 and (order is None or order.policy != policy):
            order = self.evictable = EvictionOrder.of(self.cache, policy, now)
        victims = (
            []
            if order is None
            else order.take(
                self.cache,
                need_bytes=need,
                keep=content,
                now=now,
                planned=planned() if need > 0 else (),
            )
        )
        if victims is None:
            return None
        times = (now, max(self.download_free_s, now))
        start, freed = evict_for(self.cache, victims, (self.name, content), times, out)
        self.used_bytes -= freed
        for victim in victims:
            holders.get(victim.content, {}).pop(self.name, None)
        end = start + size_bytes / self.link_Bps
        self.download_free_s = end
        fetched = build.cached_content(content, size_bytes, now, end, end, False, 0)
        self.cache[content] = fetched
        if order is not None:
            order.touch(content)
        self.used_bytes += size_bytes
        holders.setdefault(content, {})[self.name] = None
        out.downloads.append(
            build.download(self.name, content, size_bytes, start, end, out.next_step())
        )
        return end

    def assign(
        self, request: QueuedRequest, copies: int, size_bytes: int, *, now: float, out: Decisions
    ) -> float:
        """Queue ``copies`` burns (content already committed, blanks checked); the last end."""
        entry = self.cache[request.content]
        ready = max(entry.ready_s, now)
        first, last = queue_burns(
            self.drives, ready, self.burn_s(request.media, size_bytes), copies
        )
        self.blanks[request.media] -= copies
        self._note_use(request.media, copies, now)
        # Built directly (once a bind): dataclasses.replace costs ~5x as much, the
        # generated __init__ ~3x (see _build).
        busy = entry.busy_until_s
        used = build.cached_content(
            entry.content,
            entry.size_bytes,
            now,
            entry.ready_s,
            busy if busy >= last else last,
            entry.pinned,
            entry.hits + 1,
        )
        self.cache[request.content] = used
        if self.evictable is not None:
            self.evictable.touch(request.content)
        add_assignment(
            out.assignments,
            request,
            self.name,
            (first, last),
            copies,
            out.next_step,
            mergeable=True,
        )
        return last

    def reloaded(self, media: str, count: int) -> None:
        self.blanks[media] = self.blanks.get(media, 0) + count
        self.reload_lands.pop(media, None)

    def _note_use(self, media: str, copies: int, now: float) -> None:
        rate, since = self.use_rate.get(media, (0.0, now))
        if since >= now:  # _decay(0) is 1 (the same product, without the exp)
            self.use_rate[media] = (rate + copies, now)
        else:  # _decay(now - since), inlined (once a bind): the elapsed time is > 0
            self.use_rate[media] = (
                rate * math.exp(-(now - since) / _USE_TIME_CONSTANT_S) + copies,
                now,
            )

    def recent_use(self, media: str, now: float, window_s: float) -> float:
        """Blanks of ``media`` this device burns per ``window_s`` at its recent pace.

        A count decayed with a fixed time constant estimates the discs used in
        the last constant's worth of time without keeping a history."""
        rate, since = self.use_rate.get(media, (0.0, now))
        return rate * _decay(now - since) * window_s / _USE_TIME_CONSTANT_S


_USE_TIME_CONSTANT_S: Final = 900.0


def _decay(elapsed_s: float) -> float:
    return math.exp(-max(0.0, elapsed_s) / _USE_TIME_CONSTANT_S)


# Bind work this long before a drive frees: the time to fetch a typical content
# (the largest where the cache holds two, so a title's download overlaps the
# burn before it even on slow links); never less than a
# few seconds, so a dispatcher round (every second) binds a drive's next disc
# before the drive idles.
MIN_HORIZON_S: Final = 10.0
MAX_HORIZON_S: Final = 900.0


def horizon_for(typical_bytes: float, link_bps: float) -> float:
    return min(MAX_HORIZON_S, max(MIN_HORIZON_S, typical_bytes / link_bps))

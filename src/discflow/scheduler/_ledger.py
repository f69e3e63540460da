# Working state of one planning round, shared by every policy.
#
# Invariants: the Snapshot is never mutated; a device gets a private working
# copy the first time a decision touches it. Every committed decision keeps
# the same physical rules the simulator and the validator check: burns start
# after the content is ready and on the earliest free drive, downloads on a
# device run one at a time in commit order, a download starts only after the
# evictions that make room for it, cache bytes never exceed capacity, and no
# more blanks are promised than are loaded.
"""Per-round bookkeeping: drives, downloads, cache, blanks, notices."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from discflow.domain import describe_size
from discflow.errors import SchedulingError
from discflow.scheduler._cache import CachePolicy, choose_victims
from discflow.scheduler._commit import add_assignment, evict_for, queue_burns
from discflow.scheduler._model import (
    Assignment,
    CachedContent,
    DeviceView,
    Download,
    Eviction,
    OperatorNotice,
    Plan,
    QueuedRequest,
    Snapshot,
    Unplaceable,
    Waiting,
)


@dataclass(slots=True)
class _Work:
    """A touched device's working copy."""

    view: DeviceView
    drives: list[tuple[float, int]]
    download_free_s: float
    blanks: dict[str, int]
    cache: dict[str, CachedContent] | None = None  # copied on first cache write
    used_bytes: int = -1


@dataclass(slots=True)
class Ledger:
    """Commits decisions against a Snapshot and turns them into a Plan."""

    snapshot: Snapshot
    cache_policy: CachePolicy = "lru"
    assignments: list[Assignment] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)
    evictions: list[Eviction] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    unplaceable: list[Unplaceable] = field(default_factory=list)
    # (device, media) -> ids of waiting requests that device could serve with blanks
    blocked: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _work: dict[str, _Work] = field(default_factory=dict)
    _step: int = 0

    def next_step(self) -> int:
        self._step += 1
        return self._step

    @property
    def now(self) -> float:
        return self.snapshot.now

    def work(self, view: DeviceView) -> _Work:
        w = self._work.get(view.name)
        if w is None:
            drives = [(max(f, self.snapshot.now), i) for i, f in enumerate(view.drives_free_s)]
            heapq.heapify(drives)
            blanks = {m: s.blanks for m, s in view.media.items()}
            w = _Work(view, drives, max(view.download_free_s, self.snapshot.now), blanks)
            self._work[view.name] = w
        return w

    # ---- reads (cheap, never create a working copy) ----

    def drive_free(self, view: DeviceView) -> float:
        w = self._work.get(view.name)
        if w is not None:
            return w.drives[0][0]
        return max(min(view.drives_free_s), self.snapshot.now)

    def blanks(self, view: DeviceView, media: str) -> int:
        w = self._work.get(view.name)
        if w is not None:
            return w.blanks.get(media, 0)
        stock = view.media.get(media)
        return stock.blanks if stock is not None else 0

    def entry(self, view: DeviceView, content: str) -> CachedContent | None:
        w = self._work.get(view.name)
        if w is not None and w.cache is not None:
            return w.cache.get(content)
        return view.cached.get(content)

    def ready_estimate(self, view: DeviceView, content: str, size_bytes: int) -> float:
        """When ``content`` could be ready on ``view`` (ignores waits for busy victims)."""
        e = self.entry(view, content)
        if e is not None:
            return max(e.ready_s, self.snapshot.now)
        w = self._work.get(view.name)
        free = w.download_free_s if w is not None else max(view.download_free_s, self.now)
        return free + size_bytes / view.link_Bps

    # ---- commits ----

    def ensure_cached(self, view: DeviceView, content: str, size_bytes: int) -> float | None:
        """Make ``content`` available on ``view``; its ready time, or None if pins forbid."""
        now = self.snapshot.now
        e = self.entry(view, content)
        if e is not None:
            return max(e.ready_s, now)
        if size_bytes > view.cache_bytes:
            return None
        w = self.work(view)
        if w.cache is None:
            w.cache = dict(view.cached)
        if w.used_bytes < 0:
            w.used_bytes = sum(c.size_bytes for c in w.cache.values())
        need = w.used_bytes + size_bytes - view.cache_bytes
        victims = choose_victims(
            w.cache.values(), need_bytes=need, keep=content, now=now, policy=self.cache_policy
        )
        if victims is None:
            return None
        times = (now, w.download_free_s)
        start, freed = evict_for(w.cache, victims, (view.name, content), times, self)
        w.used_bytes -= freed
        end = start + size_bytes / view.link_Bps
        w.download_free_s = end
        w.cache[content] = CachedContent(
            content, size_bytes, last_used_s=now, ready_s=end, busy_until_s=end, hits=0
        )
        w.used_bytes += size_bytes
        self.downloads.append(
            Download(view.name, content, size_bytes, start, end, self.next_step())
        )
        return end

    def assign(self, view: DeviceView, request: QueuedRequest, copies: int, size: int) -> float:
        """Queue ``copies`` burns of ``request`` on ``view``; returns the last end.

        The content must already be committed to the cache (``ensure_cached``)
        and the device must hold at least ``copies`` blanks of the media.
        """
        w = self.work(view)
        ready = self.ensure_cached(view, request.content, size)
        if ready is None or copies > w.blanks.get(request.media, 0):
            raise SchedulingError(
                f"policy bug: {copies} copies of {request.id!r} sent to {view.name!r}"
                " without cache room or blanks"
            )
        first, last = queue_burns(w.drives, ready, view.media[request.media].burn_s(size), copies)
        w.blanks[request.media] -= copies
        if w.cache is None:
            w.cache = dict(view.cached)
        old = w.cache[request.content]
        w.cache[request.content] = CachedContent(
            old.content,
            old.size_bytes,
            self.snapshot.now,
            old.ready_s,
            max(old.busy_until_s, last),
            old.pinned,
            old.hits + 1,
        )
        # Copies chosen one at a time for the same device stay one job.
        last_step = self.assignments[-1].step if self.assignments else -1
        add_assignment(
            self.assignments,
            request,
            view.name,
            (first, last),
            copies,
            self.next_step,
            mergeable=last_step == self._step,
        )
        return last

    def wait(self, request: QueuedRequest, copies: int, reason: str, *, empty: list[str]) -> None:
        """Leave ``copies`` of ``request`` queued; ``empty`` devices could take them with blanks."""
        self.waiting.append(Waiting(request.id, copies, reason))
        for name in empty:
            self.blocked.setdefault((name, request.media), set()).add(request.id)

    def refuse(self, request: QueuedRequest, reason: str) -> None:
        self.unplaceable.append(Unplaceable(request.id, reason))

    # ---- result ----

    def notices(self) -> list[OperatorNotice]:
        """A notice per (device, media) running low or blocking work, unless one is pending."""
        by_name = {d.name: d for d in self.snapshot.devices}
        keys = {(n, m) for n, w in self._work.items() for m in w.view.media} | set(self.blocked)
        out: list[OperatorNotice] = []
        count = self.snapshot.operator.reload_count
        for name, media in sorted(keys):
            view = by_name[name]
            stock = view.media.get(media)
            if stock is None or stock.reload_pending:
                continue
            left = self.blanks(view, media)
            waiting = len(self.blocked.get((name, media), ()))
            if left < stock.low_threshold or waiting:
                noun = "request" if waiting == 1 else "requests"
                out.append(
                    OperatorNotice(
                        name,
                        media,
                        count,
                        waiting,
                        f"Load {count} {media} into {name}: {waiting} {noun} waiting"
                        f" ({left} blank{'' if left == 1 else 's'} left)",
                    )
                )
        return out

    def plan(self) -> Plan:
        return Plan(
            assignments=tuple(self.assignments),
            downloads=tuple(self.downloads),
            evictions=tuple(self.evictions),
            notices=tuple(self.notices()),
            waiting=tuple(self.waiting),
            unplaceable=tuple(self.unplaceable),
        )


def static_refusal(
    snapshot: Snapshot,
    content: str,
    media: str,
    writers_of: dict[str, list[DeviceView]] | None = None,
) -> str | None:
    """Why no device can ever serve (content, media), or None if some device could.

    ``writers_of`` (media -> the snapshot's devices that write it, filled in
    here) saves a standing caller the walk over every device per new pair."""
    size = snapshot.contents.get(content)
    if size is None:
        return f"unknown content {content!r}: it is not in the snapshot's contents"
    capacity = snapshot.media_capacity.get(media)
    writers = None if writers_of is None else writers_of.get(media)
    if writers is None:
        writers = [d for d in snapshot.devices if media in d.media]
        if writers_of is not None:
            writers_of[media] = writers
    if capacity is None or not writers:
        return f"no device writes {media}"
    if size > capacity:
        return (
            f"content {content!r} is {describe_size(size)}; {media} holds {describe_size(capacity)}"
        )
    if all(size > d.cache_bytes for d in writers):
        biggest = max(d.cache_bytes for d in writers)
        return (
            f"content {content!r} is {describe_size(size)}; the largest cache of a device"
            f" that writes {media} holds {describe_size(biggest)}"
        )
    return None

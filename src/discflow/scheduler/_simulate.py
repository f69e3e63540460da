# Discrete-event replay of a workload through a policy (online).
#
# Invariants: the policy sees a request only from its arrival on; it is asked
# to plan at every arrival time, every reload landing and every ``wake_s`` it
# asked for (late binding: a drive frees soon and work is held back for it).
# Completions are not planning points otherwise: the model is deterministic,
# so a completion changes nothing the planner did not already account for;
# the live dispatcher, whose durations vary, re-plans at completions too.
# A standing policy (``StandingPolicy``) is started once and then told only
# what changed (arrivals, reloads), which is what makes 100k-request runs
# cheap; a plain policy gets a full Snapshot every round. The simulator is the
# authority on times: it recomputes every download, eviction and burn from
# its own state and refuses a plan that breaks a physical rule with
# SchedulingError. Only the policy call is timed as planner CPU.
"""The simulator: workload + policy -> plan document and summary."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from discflow.errors import SchedulingError
from discflow.scheduler._model import (
    Assignment,
    CachedContent,
    DeviceView,
    Download,
    Eviction,
    MediaStock,
    OperatorSettings,
    Plan,
    QueuedRequest,
    Reloaded,
    Snapshot,
)
from discflow.scheduler._workload import DeviceSpec, Workload

Policy = Callable[[Snapshot], Plan]
LOW_THRESHOLD = 10


class Planner(Protocol):
    """A standing plan that is told what changed instead of the whole world."""

    def step(
        self,
        now: float,
        arrivals: Iterable[QueuedRequest] = (),
        reloads: Iterable[Reloaded] = (),
        *,
        list_waiting: bool = False,
    ) -> Plan: ...


@dataclass(frozen=True, slots=True)
class StandingPolicy:
    """A policy run as a standing planner: ``start`` gets the fleet at time 0."""

    start: Callable[[Snapshot], Planner]


@dataclass(slots=True)
class _Dev:
    spec: DeviceSpec
    drives: list[tuple[float, int]]
    download_free: float = 0.0
    blanks: dict[str, int] = field(default_factory=dict)
    pending: dict[str, bool] = field(default_factory=dict)
    cache: dict[str, CachedContent] = field(default_factory=dict)
    view: DeviceView | None = None

    def as_view(self) -> DeviceView:
        if self.view is None:
            s = self.spec
            self.view = DeviceView(
                name=s.name,
                drives_free_s=tuple(f for f, _ in sorted(self.drives, key=lambda d: d[1])),
                media={
                    m: MediaStock(
                        m,
                        self.blanks[m],
                        ms.write_Bps,
                        ms.overhead_s,
                        LOW_THRESHOLD,
                        self.pending[m],
                    )
                    for m, ms in s.media.items()
                },
                cache_bytes=s.cache_bytes,
                cached=self.cache,  # shared read-only: the planner copies on write
                link_Bps=s.link_Bps,
                download_free_s=self.download_free,
            )
        return self.view


@dataclass(frozen=True, slots=True)
class SimResult:
    """The plan document (schema format) plus raw figures for the summary."""

    plan: dict[str, Any]
    completion_s: dict[str, float]  # request id -> end of its last copy minus arrival
    wait_s: dict[str, float]  # request id -> start of its first copy minus arrival
    planner_cpu_s: float
    planning_rounds: int


def simulate(workload: Workload, policy: Policy | StandingPolicy, *, name: str) -> SimResult:
    """Replay ``workload`` through ``policy`` and return what was done."""
    devs = _devices(workload)
    order = sorted(range(len(workload.requests)), key=lambda i: workload.requests[i].arrival_s)
    specs = {r.id: r for r in workload.requests}
    operator = OperatorSettings(workload.reload_count, workload.reload_delay_s)
    doc: dict[str, Any] = {
        "policy": name,
        "downloads": _Table(("device", "content", "start_s", "end_s")),
        "evictions": _Table(("device", "content", "at_s")),
        "burns": _Table(("request", "copy", "device", "drive", "media", "start_s", "end_s")),
        "reloads": [],
        "unplaceable": [],
    }
    run = _Run(queue={}, copies_made={}, last_end={}, first_start={})

    def world(t: float, requests: tuple[QueuedRequest, ...]) -> Snapshot:
        return Snapshot(
            now=t,
            devices=tuple(d.as_view() for d in devs.values()),
            contents=workload.contents,
            media_capacity=workload.media,
            requests=requests,
            operator=operator,
        )

    standing = policy.start(world(0.0, ())) if isinstance(policy, StandingPolicy) else None
    reloads: list[tuple[float, int, str, str]] = []
    cpu = 0.0
    rounds = 0
    nxt = 0
    wake = float("inf")
    while nxt < len(order) or reloads or wake < float("inf"):
        t = min(
            workload.requests[order[nxt]].arrival_s if nxt < len(order) else float("inf"),
            reloads[0][0] if reloads else float("inf"),
            wake,
        )
        landed: list[Reloaded] = []
        while reloads and reloads[0][0] <= t:
            _, _, dname, media = heapq.heappop(reloads)
            dev = devs[dname]
            dev.blanks[media] += workload.reload_count
            dev.pending[media] = False
            dev.view = None
            landed.append(Reloaded(dname, media, workload.reload_count))
        arrived: list[QueuedRequest] = []
        while nxt < len(order) and workload.requests[order[nxt]].arrival_s <= t:
            r = workload.requests[order[nxt]]
            q = QueuedRequest(r.id, r.content, r.media, r.copies, r.arrival_s, nxt, r.priority)
            run.queue[r.id] = q
            arrived.append(q)
            nxt += 1
        if standing is None and not run.queue:
            wake = float("inf")
            continue
        started = time.process_time()
        if standing is not None:
            plan = standing.step(t, arrived, landed)
        else:
            assert not isinstance(policy, StandingPolicy)
            plan = policy(world(t, tuple(run.queue.values())))
        cpu += time.process_time() - started
        rounds += 1
        wake = float("inf") if plan.wake_s is None else plan.wake_s
        if wake <= t:
            raise SchedulingError(f"policy {name!r} asked to be woken at {wake}, not after {t}")
        _apply(plan, t, devs, run, doc, workload, complete=standing is None)
        _ask_operator(plan, t, devs, doc, workload, reloads)
    if run.queue:
        stuck = ", ".join(sorted(run.queue)[:5])
        raise SchedulingError(
            f"policy {name!r} left requests waiting with nothing left to wait for: {stuck}"
        )
    for table in ("downloads", "evictions", "burns"):
        doc[table] = doc[table].rows()
    completion = {rid: end - specs[rid].arrival_s for rid, end in run.last_end.items()}
    waits = {rid: start - specs[rid].arrival_s for rid, start in run.first_start.items()}
    return SimResult(doc, completion, waits, cpu, rounds)


def _devices(workload: Workload) -> dict[str, _Dev]:
    return {
        d.name: _Dev(
            d,
            [(0.0, i) for i in range(d.drives)],
            blanks={m: s.loaded for m, s in d.media.items()},
            pending=dict.fromkeys(d.media, False),
            cache={c: CachedContent(c, workload.contents[c], last_used_s=0.0) for c in d.cached},
        )
        for d in workload.devices
    }


def _ask_operator(
    plan: Plan,
    t: float,
    devs: dict[str, _Dev],
    doc: dict[str, Any],
    workload: Workload,
    reloads: list[tuple[float, int, str, str]],
) -> None:
    """The operator answers each new notice: its reload lands ``reload_delay_s`` later."""
    for n in plan.notices:
        dev = devs[n.device]
        if dev.pending.get(n.media, True):
            continue  # a second notice while one is pending asks for nothing new
        dev.pending[n.media] = True
        dev.view = None
        land = t + workload.reload_delay_s
        heapq.heappush(reloads, (land, len(doc["reloads"]), n.device, n.media))
        doc["reloads"].append(
            {
                "device": n.device,
                "media": n.media,
                "notice_s": t,
                "loaded_s": land,
                "count": workload.reload_count,
            }
        )


@dataclass(slots=True)
class _Table:
    """A table of the plan document, kept as columns during the run and turned into
    rows at its end. A dict per row is an allocation the garbage collector counts:
    about 700k of them at 100k requests set off about a thousand collections, most
    inside the policy's timed call (BENCHMARKS.md, "Planner CPU, session 7")."""

    names: tuple[str, ...]
    columns: list[list[Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.columns = [[] for _ in self.names]

    def add(self, *values: Any) -> None:
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, row, strict=True)) for row in zip(*self.columns, strict=True)]


@dataclass(slots=True)
class _Run:
    queue: dict[str, QueuedRequest]
    copies_made: dict[str, int]
    last_end: dict[str, float]
    first_start: dict[str, float]


def _apply(
    plan: Plan,
    t: float,
    devs: dict[str, _Dev],
    run: _Run,
    doc: dict[str, Any],
    workload: Workload,
    *,
    complete: bool,
) -> None:
    steps: list[tuple[int, Eviction | Download | Assignment]] = [
        *((e.step, e) for e in plan.evictions),
        *((d.step, d) for d in plan.downloads),
        *((a.step, a) for a in plan.assignments),
    ]
    steps.sort(key=lambda x: x[0])
    room: dict[tuple[str, str], float] = {}
    for _, act in steps:
        if isinstance(act, Eviction):
            dev = _dev(devs, act.device)
            entry = dev.cache.pop(act.content, None)
            if entry is None or entry.pinned:
                raise SchedulingError(
                    f"plan evicts {act.content!r} from {act.device!r}: not evictable"
                )
            at = max(t, entry.busy_until_s, entry.ready_s)
            key = (act.device, act.for_content)
            room[key] = max(room.get(key, t), at)
            dev.view = None
            evictions: _Table = doc["evictions"]
            evictions.add(act.device, act.content, at)
        elif isinstance(act, Download):
            _download(act, t, devs, room, doc, workload)
        else:
            _assign(act, t, devs, run, doc)
    _settle(plan, run.queue, doc, complete=complete)


def _download(
    dl: Download,
    t: float,
    devs: dict[str, _Dev],
    room: dict[tuple[str, str], float],
    doc: dict[str, Any],
    workload: Workload,
) -> None:
    dev = _dev(devs, dl.device)
    start = max(t, dev.download_free, room.pop((dl.device, dl.content), t))
    if dl.content in dev.cache:
        raise SchedulingError(f"plan downloads {dl.content!r} to {dl.device!r} twice")
    size = workload.contents[dl.content]
    used = sum(e.size_bytes for e in dev.cache.values()) + size
    if used > dev.spec.cache_bytes:
        raise SchedulingError(f"plan overfills the cache of {dl.device!r} with {dl.content!r}")
    end = start + size / dev.spec.link_Bps
    dev.download_free = end
    dev.cache[dl.content] = CachedContent(
        dl.content, size, last_used_s=t, ready_s=end, busy_until_s=end, hits=0
    )
    dev.view = None
    downloads: _Table = doc["downloads"]
    downloads.add(dl.device, dl.content, start, end)


def _assign(a: Assignment, t: float, devs: dict[str, _Dev], run: _Run, doc: dict[str, Any]) -> None:
    dev = _dev(devs, a.device)
    queue, copies_made, last_end = run.queue, run.copies_made, run.last_end
    q = queue.get(a.request)
    entry = dev.cache.get(a.content)
    if q is None or q.content != a.content or q.media != a.media or a.copies > q.copies:
        raise SchedulingError(f"plan assigns {a.request!r} inconsistently with the queue")
    if entry is None or dev.blanks.get(a.media, 0) < a.copies:
        raise SchedulingError(f"plan burns {a.request!r} on {a.device!r} without cache/blanks")
    ms = dev.spec.media[a.media]
    burns: _Table = doc["burns"]
    burn = ms.overhead_s + entry.size_bytes / ms.write_Bps
    last = 0.0
    for _ in range(a.copies):
        free, drive = dev.drives[0]
        start = max(free, entry.ready_s, t)
        run.first_start[a.request] = min(run.first_start.get(a.request, start), start)
        end = start + burn
        heapq.heapreplace(dev.drives, (end, drive))
        k = copies_made.get(a.request, 0)
        copies_made[a.request] = k + 1
        burns.add(a.request, k, a.device, drive, a.media, start, end)
        last = max(last, end)
    last_end[a.request] = max(last_end.get(a.request, 0.0), last)
    dev.blanks[a.media] -= a.copies
    dev.cache[a.content] = CachedContent(
        entry.content,
        entry.size_bytes,
        t,
        entry.ready_s,
        max(entry.busy_until_s, last),
        entry.pinned,
        entry.hits + 1,
    )
    dev.view = None
    left = q.copies - a.copies
    if left:
        queue[a.request] = replace(q, copies=left)
    else:
        del queue[a.request]


def _settle(
    plan: Plan, queue: dict[str, QueuedRequest], doc: dict[str, Any], *, complete: bool
) -> None:
    # A plain policy accounts for every queued request each round; a standing
    # one holds its queue itself and is checked once, at the end of the run.
    for w in plan.waiting:
        q = queue.get(w.request)
        if q is None or q.copies != w.copies:
            raise SchedulingError(f"plan's waiting entry for {w.request!r} disagrees with queue")
    for u in plan.unplaceable:
        if queue.pop(u.request, None) is None:
            raise SchedulingError(f"plan refuses {u.request!r}, which is not queued")
        doc["unplaceable"].append({"request": u.request, "reason": u.reason})
    if not complete:
        return
    waiting = {w.request for w in plan.waiting}
    dropped = [rid for rid in queue if rid not in waiting]
    if dropped:
        raise SchedulingError(f"plan silently dropped queued requests: {dropped[:5]}")


def _dev(devs: dict[str, _Dev], name: str) -> _Dev:
    dev = devs.get(name)
    if dev is None:
        raise SchedulingError(f"plan names unknown device {name!r}")
    return dev

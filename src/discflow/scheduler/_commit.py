# The physical rules of committing decisions, in one place for the per-round
# Ledger (every policy) and the standing planner's DeviceState.
#
# Invariants: a burn starts on the earliest free drive, no earlier than its
# content is ready; a download starts no earlier than the evictions that make
# room for it (each at ``evict_at``: after its last promised burn and its own
# download); copies of one request queued on one device in a row stay one
# Assignment. The simulator and the validator check exactly these rules.
"""Shared steps of committing burns, evictions and downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heapreplace
from typing import Protocol

from discflow.scheduler import _build as build
from discflow.scheduler._cache import evict_at
from discflow.scheduler._model import Assignment, CachedContent, Eviction, QueuedRequest


def queue_burns(
    drives: list[tuple[float, int]], ready: float, burn_s: float, copies: int
) -> tuple[float, float]:
    """Queue ``copies`` burns on the earliest free drives of the heap ``drives``;
    the first start and the last end."""
    first = last = 0.0
    for k in range(copies):
        free, drive = drives[0]
        start = free if free >= ready else ready  # max(), without the call (hot)
        end = start + burn_s
        heapreplace(drives, (end, drive))
        if k == 0:
            first = start
        if end > last:
            last = end
    return first, last


class Sink(Protocol):
    """Where a round's decisions go, numbered in the order they must be carried out."""

    evictions: list[Eviction]

    def next_step(self) -> int: ...


def evict_for(
    cache: dict[str, CachedContent],
    victims: Iterable[CachedContent],
    where: tuple[str, str],
    times: tuple[float, float],
    sink: Sink,
) -> tuple[float, int]:
    """Delete ``victims`` from ``cache`` to make room for a content.

    ``where`` is (device, content), ``times`` is (now, earliest download start);
    returns when the download may start and the bytes freed."""
    device, content = where
    now, start = times
    freed = 0
    for victim in victims:
        at = evict_at(victim, now)
        start = max(start, at)
        del cache[victim.content]
        freed += victim.size_bytes
        sink.evictions.append(build.eviction(device, victim.content, at, content, sink.next_step()))
    return start, freed


def add_assignment(
    assignments: list[Assignment],
    request: QueuedRequest,
    device: str,
    span: tuple[float, float],
    copies: int,
    next_step: Callable[[], int],
    *,
    mergeable: bool,
) -> None:
    """Record ``copies`` burns of ``request`` on ``device`` (first start, last end);
    joined to the previous Assignment when it is the same request on the same
    device and the caller allows it (one job, not many)."""
    first, last = span
    prev = assignments[-1] if assignments else None
    if mergeable and prev is not None and prev.request == request.id and prev.device == device:
        # Built directly: dataclasses.replace costs several times as much here, the
        # generated __init__ ~3x (see _build).
        assignments[-1] = build.assignment(
            prev.request,
            prev.device,
            prev.content,
            prev.media,
            prev.copies + copies,
            prev.start_s,
            prev.end_s if prev.end_s >= last else last,
            prev.step,
        )
        return
    assignments.append(
        build.assignment(
            request.id, device, request.content, request.media, copies, first, last, next_step()
        )
    )

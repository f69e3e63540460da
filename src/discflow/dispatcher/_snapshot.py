"""From the store's rows to the scheduler's Snapshot (and nothing else).

Invariant: the snapshot describes the world after every decision already
handed out: drive free times include queued jobs, blanks exclude copies
already promised to jobs, caches include uploads in flight, and contents used
by active jobs are pinned. The scheduler keys contents by sha256, so two
catalog entries with the same bytes share one cache entry.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from discflow.domain import MEDIA_TYPES, Availability, Priority
from discflow.scheduler import (
    CachedContent,
    DeviceView,
    MediaStock,
    OperatorSettings,
    QueuedRequest,
    Snapshot,
)
from discflow.store import Device, Job, Request

SCHEDULABLE = (Availability.ONLINE.value, Availability.BUSY.value)


@dataclass(frozen=True, slots=True)
class Upload:
    """A content being pushed to a device right now."""

    sha256: str
    size_bytes: int
    ready_s: float


def _burn_s(device: Device, media: str, size_bytes: int) -> float:
    for row in device.media:
        if row.media == media and row.write_Bps > 0:
            return row.overhead_s + size_bytes / row.write_Bps
    return 600.0  # media no longer listed: a pessimistic guess keeps the estimate finite


def device_view(
    device: Device,
    *,
    now: float,
    jobs: Iterable[tuple[Job, str, int]],
    uploads: Mapping[str, Upload],
    reload_pending: set[str],
) -> DeviceView:
    """One device; ``jobs`` are its active jobs as (job, content sha256, content size)."""
    drive_count = max(1, len(device.drives))
    free = [now] * drive_count
    promised: dict[str, int] = {}
    pinned: dict[str, float] = {}
    for job, sha, size in jobs:
        left = max(0, job.copies - job.good_copies)
        promised[job.media] = promised.get(job.media, 0) + left
        burn = _burn_s(device, job.media, size)
        for _ in range(left):
            heapq.heapreplace(free, free[0] + burn)
        pinned[sha] = max(pinned.get(sha, now), max(free))
    media = {
        row.media: MediaStock(
            media=row.media,
            blanks=max(0, row.loaded - promised.get(row.media, 0)),
            write_Bps=float(row.write_Bps),
            overhead_s=row.overhead_s,
            low_threshold=row.low_threshold,
            reload_pending=row.media in reload_pending,
        )
        for row in device.media
        if row.write_Bps > 0 and row.media in MEDIA_TYPES
    }
    cached = {
        entry.sha256: CachedContent(
            content=entry.sha256,
            size_bytes=entry.size_bytes,
            last_used_s=entry.last_used,
            busy_until_s=pinned.get(entry.sha256, 0.0),
            pinned=entry.sha256 in pinned,
        )
        for entry in device.cache
    }
    for upload in uploads.values():
        cached[upload.sha256] = CachedContent(
            content=upload.sha256,
            size_bytes=upload.size_bytes,
            ready_s=upload.ready_s,
            last_used_s=now,
            pinned=True,
            busy_until_s=pinned.get(upload.sha256, 0.0),
        )
    for sha in pinned:  # content of a pending job whose upload has not started yet
        cached.setdefault(sha, CachedContent(content=sha, size_bytes=0, pinned=True))
    download_free = max([now, *(u.ready_s for u in uploads.values())])
    return DeviceView(
        name=device.name,
        drives_free_s=tuple(sorted(free)),
        media=media,
        cache_bytes=device.cache_capacity_bytes,
        cached=cached,
        link_Bps=float(max(1, device.link_Bps)),
        download_free_s=download_free,
        online=device.availability in SCHEDULABLE and not device.paused,
    )


def queued_request(request: Request, *, remaining: int, seq: int) -> QueuedRequest:
    return QueuedRequest(
        id=request.id,
        content=request.content.sha256,
        media=request.media,
        copies=remaining,
        arrival_s=request.created_at.timestamp(),
        seq=seq,
        priority=_priority(request),
    )


def _priority(request: Request) -> Priority:
    # The scheduler orders by it (rush first, aging bounds every wait); a value
    # the domain does not know (an old row) counts as normal rather than failing.
    try:
        return Priority(getattr(request, "priority", Priority.NORMAL.value))
    except ValueError:
        return Priority.NORMAL


def snapshot(
    *,
    now: float,
    devices: list[DeviceView],
    requests: list[tuple[Request, int]],
    operator: OperatorSettings,
) -> Snapshot:
    return Snapshot(
        now=now,
        devices=tuple(devices),
        contents={r.content.sha256: r.content.size_bytes for r, _ in requests},
        media_capacity={name: m.capacity_bytes for name, m in MEDIA_TYPES.items()},
        requests=tuple(queued_request(r, remaining=n, seq=i) for i, (r, n) in enumerate(requests)),
        operator=operator,
    )

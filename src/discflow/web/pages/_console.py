"""The floor as an operator's console: one compact card per device, read from the store.

Invariants:
- Read-only: every figure comes from the device record the heartbeats keep
  fresh, the job rows and the requests; nothing here talks to an agent.
- A device's state is one phrase in words and colour, chosen by what the
  operator must act on first: stopped by a reason > offline > paused >
  needs a media the queue waits for > burning > idle.
- Jobs are listed like CUPS's queue: the device's unfinished jobs, rush
  first, each with its order, priority and progress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.domain import Priority, ReasonSeverity
from discflow.settings import Settings
from discflow.store import Content, Device, Job
from discflow.store import Request as DiscRequest
from discflow.web.pages._reasons import describe, reasons_of
from discflow.web.pages._svg import gauge, gauge_scale

MOVABLE = ("pending", "queued")  # nothing burned yet: the job may go elsewhere whole


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    order_id: str
    request_id: str
    title: str
    media: str
    priority: str
    copies: int
    good: int
    failed: int
    state: str
    movable: bool
    error: str


@dataclass(frozen=True, slots=True)
class DriveRow:
    index: int
    state: str
    percent: int
    job: JobRow | None
    disc: int
    seconds_left: int | None


def _priority(request: DiscRequest) -> str:
    return request.priority or Priority.NORMAL.value


def _rank(priority: str) -> int:
    try:
        return Priority(priority).rank
    except ValueError:
        return Priority.NORMAL.rank


def jobs_by_device(session: Session) -> dict[str, list[JobRow]]:
    """Unfinished jobs per device, rush first, then oldest first."""
    rows = session.execute(
        select(Job, DiscRequest, Content.title)
        .join(DiscRequest, DiscRequest.id == Job.request_id)
        .join(Content, Content.id == DiscRequest.content_id)
        .where(Job.state.in_(store.JOB_ACTIVE))
        .order_by(Job.created_at, Job.id)
    ).all()
    found: dict[str, list[JobRow]] = {}
    for job, request, title in rows:
        found.setdefault(job.device, []).append(
            JobRow(
                id=job.id,
                order_id=request.order_id,
                request_id=request.id,
                title=title,
                media=job.media,
                priority=_priority(request),
                copies=job.copies,
                good=job.good_copies,
                failed=job.failed_copies,
                state=job.state,
                movable=job.state in MOVABLE and job.good_copies + job.failed_copies == 0,
                error=job.error,
            )
        )
    for jobs in found.values():
        jobs.sort(key=lambda j: (j.state not in ("running", "paused"), -_rank(j.priority)))
    return found


def waiting_media(session: Session) -> dict[str, int]:
    """Discs waiting in the queue per media type (not yet given to any device)."""
    rows = session.execute(
        select(DiscRequest.media, func.sum(DiscRequest.copies - DiscRequest.good_copies))
        .where(DiscRequest.state == "queued")
        .group_by(DiscRequest.media)
    ).all()
    return {media: int(discs or 0) for media, discs in rows}


def _drives(device: Device, jobs: Sequence[JobRow], sizes: Mapping[str, int]) -> list[DriveRow]:
    by_id = {j.id: j for j in jobs}
    speeds = {row.media: (row.write_Bps, row.overhead_s) for row in device.media}
    drives = []
    for i, raw in enumerate(device.drives):
        progress = float(raw.get("progress", 0.0) or 0.0)
        job = by_id.get(str(raw.get("job_id") or ""))
        seconds_left = None
        if job is not None and raw.get("state") in ("writing", "verifying"):
            write_Bps, overhead = speeds.get(job.media, (0, 0.0))
            if write_Bps > 0:
                per_disc = overhead + sizes.get(job.request_id, 0) / write_Bps
                seconds_left = round((1.0 - progress) * per_disc)
        drives.append(
            DriveRow(
                index=int(raw.get("index", i)),
                state=str(raw.get("state", "idle")),
                percent=round(progress * 100),
                job=job,
                disc=min(job.copies, job.good + job.failed + 1) if job else 0,
                seconds_left=seconds_left,
            )
        )
    return drives


def _ink(status: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Ink levels where the robot reports them: ``{"cyan": 40}`` or a list of
    ``{"name"|"colour": ..., "level"|"percent": ...}``."""
    raw = status.get("ink") or status.get("markers") or {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping):
                pairs.append(
                    (
                        item.get("name") or item.get("colour") or "ink",
                        item.get("level", item.get("percent")),
                    )
                )
    return [
        (str(name)[:20], max(0, min(100, int(level))))
        for name, level in pairs
        if isinstance(level, int | float)
    ]


def _state(
    device: Device, drives: Sequence[DriveRow], jobs: Sequence[JobRow], waiting: Mapping[str, int]
) -> tuple[str, str]:
    """(phrase, colour class) of the device."""
    reasons = reasons_of(device)
    blocking = [r for r in reasons if r.blocks_burning]
    if blocking:
        return f"stopped: {describe(blocking[0])}", "bad"
    if device.availability == "offline":
        return "offline", "bad"
    if device.availability == "error":
        errors = [r for r in reasons if r.severity is ReasonSeverity.ERROR]
        return (f"error: {describe(errors[0])}" if errors else "error"), "bad"
    if device.paused:
        return "paused by operator", "paused"
    stalled = {j.media for j in jobs if j.state == "paused"}
    for row in device.media:
        if row.loaded == 0 and (row.media in stalled or waiting.get(row.media, 0) > 0):
            return f"needs {row.media}", "warn"
    if any(d.state in ("writing", "verifying") for d in drives):
        return "burning", "busy"
    return ("idle" if not jobs else "starting"), "ok"


def _bins(device: Device, settings: Settings) -> list[dict[str, Any]]:
    bins = []
    for row in device.media:
        full = gauge_scale(
            row.loaded, threshold=row.low_threshold, reload_count=settings.reload_count
        )
        bins.append(
            {
                "media": row.media,
                "loaded": row.loaded,
                "threshold": row.low_threshold,
                "low": row.loaded <= row.low_threshold,
                "used": row.used_good + row.used_failed,
                "spoilt": row.used_failed,
                # safe: the renderer escapes every text it writes
                "svg": Markup(  # nosec B704
                    gauge(
                        row.loaded,
                        maximum=full,
                        threshold=row.low_threshold,
                        label=f"{row.media} blanks in {device.name}",
                    )
                ),
            }
        )
    return bins


def device_card(
    device: Device,
    *,
    jobs: Sequence[JobRow],
    waiting: Mapping[str, int],
    sizes: Mapping[str, int],
    titles: Mapping[str, str],
    settings: Settings,
) -> dict[str, Any]:
    drives = _drives(device, jobs, sizes)
    phrase, colour = _state(device, drives, jobs, waiting)
    used = max(0, device.cache_capacity_bytes - device.cache_free_bytes)
    return {
        "name": device.name,
        "driver": device.driver,
        "availability": device.availability,
        "state": phrase,
        "colour": colour,
        "paused": device.paused,
        "last_seen_at": device.last_seen_at,
        "reasons": [
            {"text": describe(r), "severity": r.severity.value, "message": r.message}
            for r in reasons_of(device)
        ],
        "drives": drives,
        "bins": _bins(device, settings),
        "ink": _ink(device.status or {}),
        "jobs": list(jobs),
        "cache_used": used,
        "cache_capacity": device.cache_capacity_bytes,
        "cache_percent": round(100 * used / max(1, device.cache_capacity_bytes)),
        "cache": [
            {"title": titles.get(c.sha256, c.sha256[:12]), "size": c.size_bytes}
            for c in sorted(device.cache, key=lambda c: -c.last_used)
        ],
    }


def console_cards(session: Session, settings: Settings) -> list[dict[str, Any]]:
    titles: dict[str, str] = dict(session.execute(select(Content.sha256, Content.title)).all())
    jobs = jobs_by_device(session)
    request_ids = {j.request_id for rows in jobs.values() for j in rows}
    sizes: dict[str, int] = dict(
        session.execute(
            select(DiscRequest.id, Content.size_bytes)
            .join(Content, Content.id == DiscRequest.content_id)
            .where(DiscRequest.id.in_(request_ids))
        ).all()
    )
    waiting = waiting_media(session)
    return [
        device_card(
            d,
            jobs=jobs.get(d.name, []),
            waiting=waiting,
            sizes=sizes,
            titles=titles,
            settings=settings,
        )
        for d in store.list_devices(session)
    ]

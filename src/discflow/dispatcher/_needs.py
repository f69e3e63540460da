"""What the floor needs, read from the records: blocking reasons, queued work and
stock per media, and the effect of a confirmed reload.

Invariant: pure reads over the session except ``media_loaded_now``, which
writes what the agent just confirmed, in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.domain import BLOCKING_REASONS
from discflow.store import Device, DeviceMedia, Request

MEDIA_KINDS = ("media-low", "media-out")
_BLOCKING = {reason.value for reason in BLOCKING_REASONS}


def blocking_reasons(device: Device) -> list[dict[str, Any]]:
    """The device's error reasons that stop it burning (as its record carries them)."""
    raw = getattr(device, "reasons", None) or (device.status or {}).get("reasons") or []
    return [
        r
        for r in raw
        if isinstance(r, dict) and r.get("severity") == "error" and r.get("reason") in _BLOCKING
    ]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def waiting_by_media(session: Session) -> dict[str, tuple[int, int]]:
    """Queued work per media type: (requests, discs still to make)."""
    rows = session.execute(
        select(Request.media, func.count(), func.sum(Request.copies - Request.good_copies))
        .where(Request.state == "queued")
        .group_by(Request.media)
    ).all()
    return {media: (int(count), int(discs or 0)) for media, count, discs in rows}


def stock_by_media(devices: list[Device]) -> dict[str, int]:
    """Blanks loaded per media type on devices that may get work."""
    stock: dict[str, int] = {}
    for device in devices:
        if device.availability in ("offline", "error") or device.paused:
            continue
        if blocking_reasons(device):
            continue
        for row in device.media:
            stock[row.media] = stock.get(row.media, 0) + row.loaded
    return stock


def media_loaded_now(session: Session, *, device: str, answer: dict[str, Any]) -> None:
    """The agent confirmed a reload: the record and the notices show it in this same
    transaction, so the page that confirms the reload already shows its effect."""
    media = str(answer.get("media", ""))
    row = session.scalar(
        select(DeviceMedia).where(DeviceMedia.device == device, DeviceMedia.media == media)
    )
    if row is None:
        return
    for name in ("loaded", "loaded_total", "used_good", "used_failed"):
        if isinstance(answer.get(name), int):
            setattr(row, name, answer[name])
    if isinstance(answer.get("counted_at"), (int, float)):
        # a heartbeat counted before this answer no longer sets the bin back
        row.counted_at = float(answer["counted_at"])
    why = f"{row.loaded} {media} now in {device}"
    if row.loaded > row.low_threshold:
        store.clear_notices(session, kinds=MEDIA_KINDS, device=device, media=media, why=why)
    if row.loaded > 0:
        store.clear_notices(session, kinds=("media-out",), device=device, media=media, why=why)
        for notice in store.list_notices(session):
            if notice.kind == "media-out" and notice.media == media and notice.data.get("need"):
                store.clear_notices(
                    session, kinds=("media-out",), device=notice.device, media=media, why=why
                )

"""Table rows to public schemas, in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from discflow.domain import Priority, media_fitting
from discflow.protocol import DeviceReasonOut
from discflow.store import (
    Device,
    Event,
    Order,
    OrderRows,
    device_reasons,
    order_priority,
    order_state,
)
from discflow.web.schemas import (
    CachePublic,
    ContentPublic,
    DevicePublic,
    EventPublic,
    MediaPublic,
    OrderPublic,
    RequestPublic,
)


class RequestRow(Protocol):
    """A ``Request`` row, or the row the hot path just wrote (``store.OrderRows``)."""

    @property
    def id(self) -> str: ...
    @property
    def content_id(self) -> str: ...
    @property
    def media(self) -> str: ...
    @property
    def copies(self) -> int: ...
    @property
    def good_copies(self) -> int: ...
    @property
    def failed_copies(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def priority(self) -> str: ...


def request_public(request: RequestRow) -> RequestPublic:
    return RequestPublic(
        id=request.id,
        content_id=request.content_id,
        media=request.media,
        copies=request.copies,
        good_copies=request.good_copies,
        failed_copies=request.failed_copies,
        state=request.state,
        reason=request.reason,
        priority=Priority(request.priority),
    )


def order_public(order: Order) -> OrderPublic:
    return OrderPublic(
        id=order.id,
        state=order_state(order),
        priority=order_priority(order),
        user=order.user.name,
        source=order.source,
        created_at=order.created_at,
        ship_to=order.ship_to,
        requests=[request_public(r) for r in order.requests],
    )


JSON = "application/json"


def placed_order_public(rows: OrderRows) -> OrderPublic:
    """A just-placed order as ``order_public`` shows it, from the rows written (no read-back)."""
    return OrderPublic(
        id=rows.id,
        state="queued",
        priority=Priority(rows.requests[0].priority),
        user=rows.user_name,
        source=rows.source,
        created_at=rows.created_at,
        ship_to=rows.ship_to,
        requests=[request_public(r) for r in rows.requests],
    )


class ContentRow(Protocol):
    """A ``Content`` row or its cached copy (``store.CatalogEntry``)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def volume_id(self) -> str: ...
    @property
    def filesystems(self) -> list[str]: ...
    @property
    def created_at(self) -> datetime: ...


def content_public(content: ContentRow) -> ContentPublic:
    return ContentPublic(
        id=content.id,
        title=content.title,
        description=content.description,
        tags=list(content.tags),
        size_bytes=content.size_bytes,
        sha256=content.sha256,
        volume_id=content.volume_id,
        filesystems=list(content.filesystems),
        media=[m.name for m in media_fitting(content.size_bytes)],
        created_at=content.created_at,
    )


def device_public(device: Device, *, enrol_code: str | None = None) -> DevicePublic:
    return DevicePublic(
        name=device.name,
        driver=device.driver,
        address=device.address,
        site=device.site,
        availability=device.availability,
        drives=list(device.drives),
        drive_count=len(device.drives),
        media=[
            MediaPublic(
                media=m.media,
                loaded=m.loaded,
                loaded_total=m.loaded_total,
                used_good=m.used_good,
                used_failed=m.used_failed,
                write_Bps=m.write_Bps,
                overhead_s=m.overhead_s,
                low_threshold=m.low_threshold,
            )
            for m in device.media
        ],
        cache=[
            CachePublic(sha256=c.sha256, size_bytes=c.size_bytes, last_used=c.last_used)
            for c in device.cache
        ],
        cache_capacity_bytes=device.cache_capacity_bytes,
        cache_free_bytes=device.cache_free_bytes,
        link_Bps=device.link_Bps,
        last_seen_at=device.last_seen_at,
        enrol_code=enrol_code,
        reasons=[DeviceReasonOut.of(r) for r in device_reasons(device)],
    )


def event_public(event: Event) -> EventPublic:
    return EventPublic(
        id=event.id,
        at=event.at,
        type=event.type,
        order_id=event.order_id,
        request_id=event.request_id,
        device=event.device,
        content_id=event.content_id,
        job_id=event.job_id,
        actor=event.actor,
        message=event.message,
        data=event.data,
    )

"""The operator's floor dashboard: devices, media, cache, queue, notices, charts, actions.

Invariants:
- The dashboard reads only the store (the claim-6 records the heartbeats keep
  fresh); operator actions go through ``dispatcher.record_media_loaded`` and
  ``set_paused``, the same code as the API, so the task log tells one story.
- Live parts are re-rendered whole by polling (``/floor/live``), never
  patched piecemeal, and the forms sit outside them so polling never wipes
  what an operator is typing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from discflow import store
from discflow.dispatcher import record_media_loaded, set_paused
from discflow.domain import MEDIA_TYPES, REQUEST_FINAL
from discflow.errors import DiscflowError, InvalidInput
from discflow.settings import Settings
from discflow.store import Content, Device
from discflow.store import Request as DiscRequest
from discflow.web.deps import SettingsDep
from discflow.web.pages._common import (
    CsrfDep,
    OperatorPage,
    PageRoute,
    PageSession,
    flash,
    form_data,
    render,
    see_other,
)
from discflow.web.pages._series import load_charts
from discflow.web.pages._svg import Series, bar_chart, gauge, gauge_scale, line_chart

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class QueueGroup:
    content_id: str
    title: str
    requests: int
    copies: int
    states: dict[str, int]
    media: dict[str, int] = field(default_factory=dict)


def queue_by_content(session: Session) -> list[QueueGroup]:
    """Unfinished requests grouped by content, the biggest backlog first."""
    final = [s.value for s in REQUEST_FINAL]
    rows = session.execute(
        select(DiscRequest, Content.title)
        .join(Content, Content.id == DiscRequest.content_id)
        .where(DiscRequest.state.not_in(final))
    ).all()
    groups: dict[str, dict[str, Any]] = {}
    for request, title in rows:
        group = groups.setdefault(
            request.content_id,
            {"title": title, "requests": 0, "copies": 0, "states": Counter(), "media": Counter()},
        )
        group["requests"] += 1
        group["copies"] += request.copies - request.good_copies
        group["states"][request.state] += 1
        group["media"][request.media] += request.copies - request.good_copies
    made = [
        QueueGroup(
            content_id=cid,
            title=g["title"],
            requests=g["requests"],
            copies=g["copies"],
            states=dict(sorted(g["states"].items())),
            media=dict(sorted(g["media"].items())),
        )
        for cid, g in groups.items()
    ]
    return sorted(made, key=lambda g: (-g.copies, g.title))


def _device_view(device: Device, titles: dict[str, str], settings: Settings) -> dict[str, Any]:
    used = max(0, device.cache_capacity_bytes - device.cache_free_bytes)
    capacity = max(1, device.cache_capacity_bytes)
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
    return {
        "name": device.name,
        "driver": device.driver,
        "availability": device.availability,
        "paused": device.paused,
        "last_seen_at": device.last_seen_at,
        "drives": [
            {
                "index": int(d.get("index", i)),
                "state": str(d.get("state", "idle")),
                "percent": round(float(d.get("progress", 0.0)) * 100),
                "job_id": d.get("job_id"),
            }
            for i, d in enumerate(device.drives)
        ],
        "bins": bins,
        "cache_used": used,
        "cache_capacity": device.cache_capacity_bytes,
        "cache_percent": round(100 * used / capacity),
        "cache": [
            {"title": titles.get(c.sha256, c.sha256[:12]), "size": c.size_bytes}
            for c in sorted(device.cache, key=lambda c: -c.last_used)
        ],
    }


def floor_context(session: Session, settings: Settings) -> dict[str, Any]:
    titles: dict[str, str] = dict(session.execute(select(Content.sha256, Content.title)).all())
    devices = store.list_devices(session)
    return {
        "devices": [_device_view(d, titles, settings) for d in devices],
        "device_names": [d.name for d in devices],
        "notices": store.list_notices(session),
        "queue": queue_by_content(session),
        "media_types": list(MEDIA_TYPES),
    }


def charts_context(session: Session) -> dict[str, Any]:
    charts = load_charts(session, store.utcnow())
    labels = charts.labels
    devices = [Series(name, tuple(values)) for name, values in charts.per_device.items()]
    return {
        # safe: the renderer escapes every text it writes
        "throughput_svg": Markup(  # nosec B704
            bar_chart(charts.good, labels=labels, title="Discs verified per hour, last 24 h")
        ),
        "consumption_svg": Markup(  # nosec B704
            line_chart(
                devices or [Series("no discs yet", tuple(0 for _ in labels))],
                labels=labels,
                title="Blanks used per device per hour, last 24 h",
            )
        ),
        "queue_svg": Markup(  # nosec B704
            line_chart(
                [
                    Series("waiting", tuple(charts.waiting)),
                    Series("in progress", tuple(charts.working)),
                ],
                labels=labels,
                title="Requests waiting and in progress, last 24 h",
            )
        ),
        "discs_today": sum(charts.good),
    }


@router.get("/floor")
def floor(
    request: Request, session: PageSession, settings: SettingsDep, current: OperatorPage
) -> Response:
    return render(
        request,
        "floor.html",
        {"title": "Floor", **floor_context(session, settings), **charts_context(session)},
    )


@router.get("/floor/live")
def floor_live(
    request: Request, session: PageSession, settings: SettingsDep, current: OperatorPage
) -> Response:
    """Devices, notices and queue as out-of-band fragments for the polling dashboard."""
    return render(request, "_floor_live.html", {**floor_context(session, settings), "oob": True})


@router.get("/floor/charts")
def floor_charts(request: Request, session: PageSession, current: OperatorPage) -> Response:
    return render(request, "_floor_charts.html", charts_context(session))


@router.post("/floor/notices/{notice_id}/acknowledge")
def acknowledge(
    notice_id: int, request: Request, session: PageSession, current: CsrfDep
) -> Response:
    current.principal.require(store.Role.OPERATOR)
    notice = store.acknowledge_notice(session, notice_id, actor=current.principal.name)
    return flash(see_other("/floor#notices"), f"Acknowledged: {notice.message}")


@router.post("/floor/devices/{name}/media")
async def media_loaded(name: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    form = await form_data(request)
    try:
        count_text = form.get("count", "").strip()
        if not count_text.isdigit():
            raise InvalidInput(f"how many blanks? {count_text!r} is not a whole number")
        loaded = await record_media_loaded(
            request.app.state.database,
            device=name,
            media=form.get("media", ""),
            count=int(count_text),
            actor=current.principal.name,
        )
    except DiscflowError as error:
        return flash(see_other(f"/floor#device-{name}"), f"Not recorded: {error}")
    message = f"Recorded: {count_text} {form.get('media')} loaded into {name} ({loaded} now)"
    return flash(see_other(f"/floor#device-{name}"), message)


@router.post("/floor/devices/{name}/pause")
def pause(name: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    set_paused(request.app.state.database, device=name, paused=True, actor=current.principal.name)
    return flash(see_other(f"/floor#device-{name}"), f"{name} paused: it gets no new work")


@router.post("/floor/devices/{name}/resume")
def resume(name: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    set_paused(request.app.state.database, device=name, paused=False, actor=current.principal.name)
    return flash(see_other(f"/floor#device-{name}"), f"{name} resumed")

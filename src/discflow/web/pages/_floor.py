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
from discflow.errors import DiscflowError, NotFound
from discflow.settings import Settings
from discflow.store import Content
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
    whole_number,
)
from discflow.web.pages._console import MOVABLE, console_cards
from discflow.web.pages._job_actions import (
    cancel_request_of,
    move_job,
    one_more_disc,
    rebalance_after_reload,
)
from discflow.web.pages._series import load_charts
from discflow.web.pages._svg import Series, bar_chart, line_chart

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


def floor_context(session: Session, settings: Settings) -> dict[str, Any]:
    devices = console_cards(session, settings)
    return {
        "devices": devices,
        "device_names": [d["name"] for d in devices],
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
        count = whole_number(form.get("count", ""), what="Blanks added", low=1, high=10_000)
        loaded = await record_media_loaded(
            request.app.state.database,
            device=name,
            media=form.get("media", ""),
            count=count,
            actor=current.principal.name,
        )
    except DiscflowError as error:
        return flash(see_other(f"/floor#device-{name}"), f"Not recorded: {error}")
    moved = await rebalance_after_reload(
        request.app.state.database,
        device=name,
        media=form.get("media", ""),
        actor=current.principal.name,
    )
    message = f"Recorded: {count} {form.get('media')} loaded into {name} ({loaded} now)"
    if moved:
        message += f"; {len(moved)} job{'' if len(moved) == 1 else 's'} not started moved here"
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


@router.post("/floor/jobs/{job_id}/move")
async def move(job_id: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    target = (await form_data(request)).get("device", "")
    try:
        new_id = await move_job(
            request.app.state.database, job_id=job_id, target=target, actor=current.principal.name
        )
    except DiscflowError as error:
        return flash(see_other("/floor#devices-h"), f"Not moved: {error}")
    return flash(
        see_other(f"/floor#device-{target}"), f"Moved: {job_id} now burns on {target} as {new_id}"
    )


@router.post("/floor/jobs/{job_id}/one-more")
def one_more(job_id: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    new_id = one_more_disc(request.app.state.database, job_id=job_id, actor=current.principal.name)
    return flash(see_other("/floor#devices-h"), f"One more disc queued as {new_id}")


@router.post("/floor/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, current: CsrfDep) -> Response:
    current.principal.require(store.Role.OPERATOR)
    cancelled = cancel_request_of(
        request.app.state.database, job_id=job_id, actor=current.principal.name
    )
    return flash(
        see_other("/floor#devices-h"),
        f"Cancelled request {cancelled.id} of order {cancelled.order_id}; "
        "its unfinished discs stop on their device",
    )


@router.get("/floor/jobs/{job_id}")
def job_page(
    job_id: str, request: Request, session: PageSession, current: OperatorPage
) -> Response:
    """One job: its order, discs (good/failed with the device's words) and actions."""
    job = session.get(store.Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    disc_request = store.get_request(session, job.request_id)
    events = session.scalars(
        select(store.Event).where(store.Event.job_id == job_id).order_by(store.Event.id)
    ).all()
    targets = [
        d.name
        for d in store.list_devices(session)
        if d.name != job.device and any(m.media == job.media for m in d.media)
    ]
    return render(
        request,
        "job.html",
        {
            "title": f"Job {job.id}",
            "job": job,
            "disc": disc_request,
            "content_title": disc_request.content.title,
            "priority": disc_request.priority,
            "active": job.state in store.JOB_ACTIVE,
            "movable": job.state in MOVABLE and job.good_copies + job.failed_copies == 0,
            "targets": targets,
            "events": events,
        },
    )

"""Operator pages for the task log (filters, newest first) and content upload.

Invariants:
- The task log page only reads; filters narrow with SQL, paging is by event
  id (``before``), so a growing log never shifts a page under the reader.
- Upload with JavaScript goes straight to ``POST /api/v1/contents`` (the raw
  body, with progress); the form fallback here ingests through the same
  ``BlobStore.ingest_iso`` and ``store.add_content``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from discflow import store
from discflow.archive import BlobStore
from discflow.errors import DiscflowError, InvalidInput
from discflow.store import Database, Event
from discflow.web.pages._common import (
    OperatorCsrfDep,
    OperatorPage,
    PageRoute,
    PageSession,
    flash,
    render,
    see_other,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 100


@router.get("/floor/log")
def task_log(
    request: Request,
    session: PageSession,
    current: OperatorPage,
    type: str = "",
    device: str = "",
    order: str = "",
    before: int = 0,
) -> Response:
    query = select(Event)
    kind = type.strip()
    if kind.endswith(".") or kind.endswith("*"):
        query = query.where(Event.type.startswith(kind.rstrip("*"), autoescape=True))
    elif kind:
        query = query.where(Event.type == kind)
    if device.strip():
        query = query.where(Event.device == device.strip())
    if order.strip():
        order_id = order.strip()
        request_ids = select(store.Request.id).where(store.Request.order_id == order_id)
        query = query.where((Event.order_id == order_id) | Event.request_id.in_(request_ids))
    if before > 0:
        query = query.where(Event.id < before)
    events = list(session.scalars(query.order_by(Event.id.desc()).limit(PAGE)))
    kinds = sorted(set(session.scalars(select(Event.type).distinct())))
    # disc and job events carry only the request: link them to their order too
    linked = {e.request_id for e in events if e.request_id and not e.order_id}
    order_of = dict(
        session.execute(
            select(store.Request.id, store.Request.order_id).where(store.Request.id.in_(linked))
        ).all()
    )
    context = {
        "title": "Task log",
        "events": events,
        "order_of": order_of,
        "type": kind,
        "device": device.strip(),
        "order": order.strip(),
        "before": before,
        "older": events[-1].id if len(events) == PAGE else 0,
        "kinds": kinds,
        "families": sorted({k.split(".", 1)[0] + "." for k in kinds}),
        "device_names": [d.name for d in store.list_devices(session)],
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "_log_rows.html", context)
    return render(request, "log.html", context)


@router.get("/floor/upload")
def upload_page(request: Request, current: OperatorPage) -> Response:
    return render(request, "upload.html", {"title": "Add content"})


@router.post("/floor/upload")
async def upload_form(request: Request, current: OperatorCsrfDep) -> Response:
    """The no-JavaScript path: a multipart form with the ISO file (role checked before
    the body is read)."""
    form = await request.form()
    title = str(form.get("title") or "").strip()
    upload = form.get("image")
    blobs: BlobStore = request.app.state.blobs
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose an ISO image file to upload")
        spool = blobs.root / "incoming"
        spool.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool, suffix=".upload")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                while chunk := await upload.read(1 << 20):
                    sink.write(chunk)
            stored = await run_in_threadpool(blobs.ingest_iso, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        database: Database = request.app.state.database
        with database.transaction() as session:
            content = store.add_content(
                session,
                title=title,
                description=str(form.get("description") or ""),
                tags=[t for t in str(form.get("tags") or "").split(",") if t.strip()],
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                volume_id=stored.volume_id,
                filesystems=list(stored.filesystems),
                actor=current.principal.name,
            )
            content_id = content.id
    except DiscflowError as error:
        return flash(see_other("/floor/upload"), f"Not added: {error}")
    return flash(see_other(f"/catalog/{content_id}"), f"Added {title!r} to the catalog")

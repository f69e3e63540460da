"""``/api/v1/contents``: the catalog, uploads, and the image bytes with ``Range``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from discflow import store
from discflow.archive import BlobStore, catalog_image
from discflow.errors import InvalidInput, NotFound, PermissionDenied
from discflow.store import Database
from discflow.web.deps import (
    Count,
    HotUserDep,
    PrincipalDep,
    SessionDep,
    UserDep,
    get_database,
)
from discflow.web.routes._convert import JSON, content_public
from discflow.web.schemas import ContentPublic

router = APIRouter(prefix="/contents", tags=["contents"])


def blob_store(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


@router.get("", response_model=list[ContentPublic])
def list_contents(
    session: SessionDep,
    principal: UserDep,
    q: str = "",
    media: str | None = None,
    tag: str | None = None,
    limit: Count = 50,
    offset: Count = 0,
) -> list[ContentPublic]:
    """The catalog; ``q`` searches titles, descriptions and tags (every word, prefixes)."""
    if len(q) > 200:
        raise InvalidInput("search text is limited to 200 characters")
    rows = store.search_contents(
        session, q, media=media, tag=tag, limit=max(1, min(limit, 500)), offset=max(0, offset)
    )
    return [content_public(c) for c in rows]


@router.get("/{content_id}", response_model=ContentPublic)
async def get_content(content_id: str, request: Request, principal: HotUserDep) -> Response:
    content = await get_database(request).hot.content(content_id)
    if content is None:
        raise store.no_such_content(content_id)
    content = store.check_visible(content, principal)
    return Response(content_public(content).model_dump_json(), media_type=JSON)


@router.get("/{content_id}/image", response_class=FileResponse)
def get_image(
    content_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> FileResponse:
    """The ISO image bytes (``Range`` supported); operators and device agents only."""
    if principal.device is None:
        principal.require(store.Role.OPERATOR)
    content = store.get_content(session, content_id)
    blobs = blob_store(request)
    if not blobs.exists(content.sha256):  # a catalog row whose bytes are gone: say so, no 500
        raise NotFound(
            f"the image of {content.id} is not in the archive; add it again with "
            "'discflow content add' or POST /api/v1/contents"
        )
    path = blobs.path_of(content.sha256)
    return FileResponse(path, media_type="application/octet-stream", filename=f"{content.id}.iso")


@router.post("", status_code=201, response_model=ContentPublic)
async def upload_content(
    request: Request,
    principal: PrincipalDep,
    title: str,
    description: str = "",
    tags: str = "",
) -> ContentPublic:
    """Add a content by uploading an ISO 9660 or UDF image as the raw request body
    (``Content-Type: application/octet-stream``); operators only."""
    if principal.role is None:
        raise PermissionDenied("device agents cannot upload contents")
    principal.require(store.Role.OPERATOR)
    blobs = blob_store(request)
    spool = blobs.root / "incoming"
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool, suffix=".upload")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            async for chunk in request.stream():
                sink.write(chunk)
        stored = await run_in_threadpool(blobs.ingest_iso, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    database: Database = get_database(request)
    with database.transaction() as session:
        content = catalog_image(
            session,
            stored,
            title=title,
            description=description,
            tags=tags,
            actor=principal.name,
        )
        return content_public(content)

"""Catalog pages: search with filters, and one content with the media it fits.

Invariant: a filter value the catalog does not know (a misspelt media type)
narrows nothing silently; the page says it was ignored.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from discflow import store
from discflow.domain import MEDIA_TYPES
from discflow.labels import DiscLabelFields, layout_disc, render_disc_png
from discflow.store import Content
from discflow.web.pages._common import PageRoute, PageSession, SignedInDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def all_tags(session: PageSession) -> list[str]:
    tags: set[str] = set()
    for row in session.scalars(select(Content.tags)):
        tags.update(str(t) for t in row)
    return sorted(tags)


@router.get("/catalog")
def catalog(
    request: Request,
    session: PageSession,
    current: SignedInDep,
    q: str = "",
    media: str = "",
    tag: str = "",
) -> Response:
    q = q[:200]
    notes = []
    if media and media not in MEDIA_TYPES:
        notes.append(f"Unknown media type {media!r} ignored.")
        media = ""
    tags = all_tags(session)
    if tag and tag not in tags:
        notes.append(f"No content has the tag {tag!r}; tag filter ignored.")
        tag = ""
    contents = store.search_contents(session, q, media=media or None, tag=tag or None, limit=200)
    return render(
        request,
        "catalog.html",
        {
            "title": "Catalog",
            "contents": contents,
            "fits": {c.id: [m.name for m in store.fitting_media(c)] for c in contents},
            "q": q,
            "media": media,
            "tag": tag,
            "tags": tags,
            "media_types": list(MEDIA_TYPES),
            "notes": notes,
        },
    )


@router.get("/catalog/{content_id}")
def content_detail(
    content_id: str, request: Request, session: PageSession, current: SignedInDep
) -> Response:
    content = store.check_visible(store.get_content(session, content_id), current.principal)
    return render(
        request,
        "content.html",
        {
            "title": content.title,
            "content": content,
            "media_fits": store.fitting_media(content),
            "media_too_small": [m for m in MEDIA_TYPES.values() if not m.fits(content.size_bytes)],
        },
    )


@router.get("/catalog/{content_id}/disc-label.png")
async def disc_label_preview(
    content_id: str, session: PageSession, current: SignedInDep
) -> Response:
    """What the disc face will look like: the content's title with sample merge fields."""
    content = store.check_visible(store.get_content(session, content_id), current.principal)
    fields = DiscLabelFields(
        title=content.title[:120],
        order_id="ORD-PREVIEW",
        customer=current.principal.name,
        copy_number=1,
        copy_total=1,
        date=datetime.now(UTC).date().isoformat(),
    )
    png = await asyncio.to_thread(render_disc_png, layout_disc(fields), dpi=72)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

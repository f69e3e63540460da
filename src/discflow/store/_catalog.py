"""The catalog: what customers can order, with full-text search.

Invariant: on SQLite the ``contents_fts`` index is written in the same
transaction as ``contents``, so search never sees a content that is not there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from discflow.domain import MediaType, check_merge_key, check_merge_value, media_fitting
from discflow.errors import InvalidInput, NotFound
from discflow.store._auth import Principal, Role
from discflow.store._caches import CatalogEntry
from discflow.store._events import record
from discflow.store._ids import new_id
from discflow.store._tables import Content

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(words: str) -> str:
    """Lowercase without accents, so 'resume' finds 'Résumé' on every database."""
    decomposed = unicodedata.normalize("NFKD", words.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def add_content(
    session: Session,
    *,
    title: str,
    sha256: str,
    size_bytes: int,
    description: str = "",
    tags: Sequence[str] = (),
    volume_id: str = "",
    filesystems: Sequence[str] = (),
    actor: str = "system",
    owner_user_id: int | None = None,
    face_fields: Mapping[str, str] | None = None,
) -> Content:
    title = title.strip()
    if not title or len(title) > 200:
        raise InvalidInput("a content needs a title of 1 to 200 characters")
    face = dict(face_fields or {})
    try:  # each goes onto a line of a robot's job or merge file with every disc
        for key, value in face.items():
            check_merge_key(key)
            check_merge_value(key, value)
    except ValueError as exc:
        raise InvalidInput(f"a content's face fields: {exc}") from None
    clean_tags = sorted({t.strip().lower() for t in tags if t.strip()})
    content = Content(
        id=new_id("cnt", 8),
        title=title,
        description=description.strip(),
        tags=clean_tags,
        size_bytes=size_bytes,
        sha256=sha256,
        volume_id=volume_id,
        filesystems=list(filesystems),
        owner_user_id=owner_user_id,
        face_fields=face,
        search_text=fold(" ".join([title, description, *clean_tags])),
    )
    session.add(content)
    session.flush()
    if session.get_bind().dialect.name == "sqlite" and owner_user_id is None:
        # a private content is never in the shared catalog's search index
        session.execute(
            text(
                "INSERT INTO contents_fts (content_id, title, description, tags) "
                "VALUES (:id, :title, :description, :tags)"
            ),
            {
                "id": content.id,
                "title": title,
                "description": content.description,
                "tags": " ".join(clean_tags),
            },
        )
    record(
        session,
        "content.added",
        f"content {title!r} added ({size_bytes} bytes)",
        content_id=content.id,
        actor=actor,
        data={"sha256": sha256, "size_bytes": size_bytes},
    )
    return content


def no_such_content(content_id: str) -> NotFound:
    return NotFound(f"no content with id {content_id!r}; list them with GET /api/v1/contents")


def get_content(session: Session, content_id: str) -> Content:
    content = session.get(Content, content_id)
    if content is None:
        raise no_such_content(content_id)
    return content


_Row = TypeVar("_Row", Content, CatalogEntry)


def visible_to(content: Content | CatalogEntry, principal: Principal) -> bool:
    """Whether ``principal`` may see and order ``content``: a private content (a patient
    disc) is its owner's and the operators' alone."""
    if content.owner_user_id is None or content.owner_user_id == principal.user_id:
        return True
    if principal.role is not None and principal.role.at_least(Role.OPERATOR):
        return True
    return principal.device is not None  # an agent fetching the image it was told to burn


def check_visible(content: _Row, principal: Principal) -> _Row:
    """``content`` if ``principal`` may see it; to anyone else it looks missing."""
    if visible_to(content, principal):
        return content
    raise no_such_content(content.id)


def find_by_title(session: Session, title: str) -> Content | None:
    return session.scalar(
        select(Content).where(
            func.lower(Content.title) == title.lower(), Content.owner_user_id.is_(None)
        )
    )


def fitting_media(content: Content) -> list[MediaType]:
    return media_fitting(content.size_bytes)


def search_contents(
    session: Session,
    query: str = "",
    *,
    media: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Content]:
    """Contents matching every word of ``query`` (prefix match), best match first."""
    words = _WORD.findall(query)[:12]
    statement = select(Content).where(Content.owner_user_id.is_(None))
    dialect = session.get_bind().dialect.name
    if words and dialect == "sqlite":
        fts_query = " AND ".join(f'"{w}"*' for w in words)
        ranked = text(
            "SELECT content_id FROM contents_fts WHERE contents_fts MATCH :q ORDER BY rank"
        )
        ids = [row[0] for row in session.execute(ranked, {"q": fts_query})]
        if not ids:
            return []
        order = {cid: i for i, cid in enumerate(ids)}
        rows = list(session.scalars(statement.where(Content.id.in_(ids))))
        rows.sort(key=lambda c: order[c.id])
    elif words:
        document = func.to_tsvector("simple", Content.search_text)
        tsquery = func.to_tsquery("simple", " & ".join(f"{fold(w)}:*" for w in words))
        rows = list(
            session.scalars(
                statement.where(document.op("@@")(tsquery)).order_by(
                    func.ts_rank(document, tsquery).desc(), Content.title
                )
            )
        )
    else:
        rows = list(session.scalars(statement.order_by(Content.title)))
    if media:
        rows = [c for c in rows if any(m.name == media for m in fitting_media(c))]
    if tag:
        rows = [c for c in rows if tag.lower() in c.tags]
    return rows[offset : offset + limit]

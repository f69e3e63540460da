"""Putting a stored image into the catalog: the one step every ingest path shares."""

from __future__ import annotations

from sqlalchemy.orm import Session

from discflow import store
from discflow.archive._types import StoredImage
from discflow.store import Content


def catalog_image(
    session: Session, stored: StoredImage, *, title: str, description: str, tags: str, actor: str
) -> Content:
    """A catalog entry for ``stored``; ``tags`` is the comma-separated list a person typed."""
    return store.add_content(
        session,
        title=title,
        description=description,
        tags=[t for t in tags.split(",") if t.strip()],
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        volume_id=stored.volume_id,
        filesystems=list(stored.filesystems),
        actor=actor,
    )

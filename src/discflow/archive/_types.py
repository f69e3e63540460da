"""Values the archive hands out: what an ingest stored, and the progress callback shape.

Invariant: a ``StoredImage`` describes bytes that are already in the blob store
under ``sha256``; it is never built for a refused or interrupted ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from discflow.errors import ArchiveError, InvalidInput, NotFound

__all__ = ["BlobNotFound", "ProgressCallback", "RangeNotSatisfiable", "StoredImage"]

#: Called as ``progress(done_bytes, total_bytes)`` while an ingest runs.
#: Raising from it aborts the ingest; nothing is left behind.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image held in the blob store.

    ``filesystems`` names the file systems the image carries, in a fixed order
    drawn from ``("iso9660", "joliet", "rockridge", "udf")``. ``created`` is
    False when the same bytes were already stored (the ingest was a no-op).
    """

    sha256: str
    size_bytes: int
    volume_id: str
    file_count: int
    filesystems: tuple[str, ...]
    created: bool


class BlobNotFound(ArchiveError, NotFound):
    """No image with this sha256 is stored."""


class RangeNotSatisfiable(ArchiveError, InvalidInput):
    """A byte range lies outside the stored image; ``size_bytes`` is the image size."""

    def __init__(self, message: str, *, size_bytes: int) -> None:
        super().__init__(message)
        self.size_bytes = size_bytes

"""The content archive's file side: a content-addressed store of disc images.

Images are stored under ``<root>/blobs/sha256/ab/cd/<sha256>.iso``; the same
bytes are stored once. Everything is written to ``<root>/tmp`` first, fsynced and
renamed into place only when complete and validated, so a refused or
interrupted ingest leaves nothing behind (``sweep_partials`` clears what a
killed process left in ``tmp``).

Public API:

- ``BlobStore(root)``
    - ``ingest_iso(path, *, progress=None) -> StoredImage`` stores an existing
      ISO 9660 or UDF image; anything else raises ``IngestError`` saying what
      the file is.
    - ``ingest_directory(path, *, volume_name, progress=None, udf=None) -> StoredImage``
      builds ISO 9660 level 3 + Joliet + Rock Ridge (adding UDF 2.60 when a file
      is 4 GiB or larger, or when ``udf=True``) deterministically from the tree.
      Refuses unreadable files, symlinks leading outside the tree, names with
      path separators or '..', devices/sockets/FIFOs and trees without files.
    - ``open_range(sha256, start=0, end=None, *, chunk_size=1 MiB) -> Iterator[bytes]``
      and ``read_range(sha256, start=0, end=None) -> bytes``: bytes ``[start, end)``
      (end exclusive; an HTTP ``Range: bytes=a-b`` is ``open_range(sha, a, b + 1)``).
      A bad range raises ``RangeNotSatisfiable`` (``.size_bytes`` set).
    - ``path_of(sha256)``, ``exists(sha256)``, ``size_of(sha256)``,
      ``inspect(sha256) -> StoredImage``, ``delete(sha256) -> bool``,
      ``sweep_partials(*, older_than_seconds=0) -> list[Path]``.
- ``StoredImage``: sha256, size_bytes, volume_id, file_count, filesystems, created.
- ``ProgressCallback``: ``(done_bytes, total_bytes) -> None``; raising from it aborts.
- ``plan_filesystems(largest_file_bytes, *, udf=None)`` and ``UDF_FILE_THRESHOLD``.
- Errors: ``IngestError`` (from ``discflow.errors``), ``BlobNotFound`` (a
  ``NotFound``), ``RangeNotSatisfiable`` (an ``InvalidInput``), all ``ArchiveError``.
"""

from discflow.archive._build import UDF_FILE_THRESHOLD, plan_filesystems
from discflow.archive._catalog import catalog_image
from discflow.archive._store import BlobStore
from discflow.archive._types import (
    BlobNotFound,
    ProgressCallback,
    RangeNotSatisfiable,
    StoredImage,
)
from discflow.errors import IngestError

__all__ = [
    "UDF_FILE_THRESHOLD",
    "BlobNotFound",
    "BlobStore",
    "IngestError",
    "ProgressCallback",
    "RangeNotSatisfiable",
    "StoredImage",
    "catalog_image",
    "plan_filesystems",
]

"""The content-addressed blob store: images on disk named by their sha256.

Layout: ``<root>/blobs/sha256/ab/cd/<sha256>.iso`` for stored images and
``<root>/tmp/*.partial`` for ingests in progress. Invariants: a blob path exists
only for a complete, fsynced, validated image whose sha256 is its name; blobs are
never modified in place; a refused or interrupted ingest leaves nothing outside
``tmp/`` and, unless the process died, nothing inside it either.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from discflow.archive import _atomic
from discflow.archive._build import build_image, plan_filesystems
from discflow.archive._probe import check_magic, inspect_image
from discflow.archive._tree import scan_tree
from discflow.archive._types import BlobNotFound, ProgressCallback, RangeNotSatisfiable, StoredImage
from discflow.domain import check_sha256
from discflow.errors import ArchiveError, IngestError

__all__ = ["BlobStore"]

_CHUNK = 1024 * 1024


class BlobStore:
    """Images stored by sha256 under ``root`` (usually ``$DISCFLOW_DATA_DIR/archive``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs" / "sha256"
        self._tmp = self.root / "tmp"

    # -- lookup ---------------------------------------------------------------

    def path_of(self, sha256: str) -> Path:
        """Where the blob lives (whether or not it exists yet)."""
        digest = check_sha256(sha256)
        return self._blobs / digest[:2] / digest[2:4] / f"{digest}.iso"

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def size_of(self, sha256: str) -> int:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError as exc:
            raise self._not_found(sha256) from exc

    def inspect(self, sha256: str) -> StoredImage:
        """Describe a stored image (volume id, files, file systems) by reading it."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise self._not_found(sha256)
        facts = inspect_image(path, display_name=f"stored image {sha256}")
        return StoredImage(
            sha256=sha256,
            size_bytes=facts.size_bytes,
            volume_id=facts.volume_id,
            file_count=facts.file_count,
            filesystems=facts.filesystems,
            created=False,
        )

    def delete(self, sha256: str) -> bool:
        """Remove a blob; False if it was not there."""
        path = self.path_of(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _atomic.fsync_dir(path.parent)
        return True

    def sweep_partials(self, *, older_than_seconds: float = 0.0) -> list[Path]:
        """Remove temp files left by a crashed ingest; run at start-up, before ingesting."""
        return _atomic.sweep(self._tmp, older_than_seconds=older_than_seconds)

    # -- reads ----------------------------------------------------------------

    def open_range(
        self, sha256: str, start: int = 0, end: int | None = None, *, chunk_size: int = _CHUNK
    ) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of a blob in chunks (``end=None``: to the end).

        The range is checked before this returns, so an HTTP handler can answer
        416 before it starts streaming. ``RangeNotSatisfiable.size_bytes`` carries
        the image size for the ``Content-Range: bytes */SIZE`` header.
        """
        size = self.size_of(sha256)
        stop = size if end is None else end
        if not 0 <= start < stop <= size:
            raise RangeNotSatisfiable(
                f"byte range [{start}, {stop}) is outside image {sha256[:12]}... of "
                f"{size} bytes; ask for 0 <= start < end <= {size}",
                size_bytes=size,
            )
        fp = self.path_of(sha256).open("rb")
        return _chunks(fp, start, stop, chunk_size)

    def read_range(self, sha256: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of a blob in one piece; for small ranges."""
        return b"".join(self.open_range(sha256, start, end))

    # -- ingest ---------------------------------------------------------------

    def ingest_iso(self, path: Path, *, progress: ProgressCallback | None = None) -> StoredImage:
        """Store an existing ISO 9660 / UDF image file.

        Progress counts bytes copied; total is the file size. Anything that is
        not a complete, readable image raises ``IngestError`` and stores nothing.
        """
        path = Path(path)
        try:
            if not path.is_file():
                raise IngestError(f"{str(path)!r} is not a file; give the path of an .iso image")
            check_magic(path)
            total = path.stat().st_size
            with _atomic.partial_file(self._tmp) as (tmp_path, out):
                digest = hashlib.sha256()
                done = 0
                with path.open("rb") as src:
                    while block := src.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
                out.flush()
                # Validate the bytes we will keep, not the source, which may change.
                facts = inspect_image(tmp_path, display_name=path.name)
                sha = digest.hexdigest()
                created = _atomic.publish(tmp_path, out, self.path_of(sha))
        except OSError as exc:
            raise ArchiveError(f"could not store {str(path)!r}: {exc}") from exc
        return StoredImage(
            sha256=sha,
            size_bytes=facts.size_bytes,
            volume_id=facts.volume_id,
            file_count=facts.file_count,
            filesystems=facts.filesystems,
            created=created,
        )

    def ingest_directory(
        self,
        path: Path,
        *,
        volume_name: str,
        progress: ProgressCallback | None = None,
        udf: bool | None = None,
    ) -> StoredImage:
        """Build an image of a folder and store it.

        ISO 9660 level 3 + Joliet + Rock Ridge 1.09; UDF 2.60 is added when a file
        is 4 GiB or larger (``udf=True`` forces it, ``udf=False`` refuses such a
        tree). The same tree (names, bytes, mtimes) gives the same sha256.
        Progress counts the image written, then read back once to hash it
        (pycdlib writes out of order), so total is twice the image size.
        """
        path = Path(path)
        plan = scan_tree(path)
        largest = plan.largest_file
        filesystems = plan_filesystems(largest.size if largest else 0, udf=udf)
        try:
            with _atomic.partial_file(self._tmp) as (tmp_path, out):
                image_size = 0

                def on_write(done: int, total: int) -> None:
                    nonlocal image_size
                    image_size = total
                    if progress is not None:
                        progress(done, 2 * total)

                vol_id = build_image(
                    plan, out, volume_name=volume_name, filesystems=filesystems, progress=on_write
                )
                out.flush()
                sha = _hash_file(out, offset=image_size, total=2 * image_size, progress=progress)
                created = _atomic.publish(tmp_path, out, self.path_of(sha))
                size = out.seek(0, os.SEEK_END)
        except OSError as exc:
            raise ArchiveError(f"could not store the image of {str(path)!r}: {exc}") from exc
        return StoredImage(
            sha256=sha,
            size_bytes=size,
            volume_id=vol_id,
            file_count=plan.file_count,
            filesystems=filesystems,
            created=created,
        )

    def _not_found(self, sha256: str) -> BlobNotFound:
        return BlobNotFound(f"no image with sha256 {sha256} is stored in {self.root}")


def _hash_file(fp: BinaryIO, *, offset: int, total: int, progress: ProgressCallback | None) -> str:
    digest = hashlib.sha256()
    fp.seek(0)
    done = offset
    while block := fp.read(_CHUNK):
        digest.update(block)
        done += len(block)
        if progress is not None:
            progress(min(done, total), total)
    return digest.hexdigest()


def _chunks(fp: BinaryIO, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
    with fp:
        fp.seek(start)
        left = stop - start
        while left > 0:
            block = fp.read(min(chunk_size, left))
            if not block:
                raise ArchiveError("the stored image is shorter than expected; it was altered")
            left -= len(block)
            yield block

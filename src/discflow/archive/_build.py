"""Master an image from a scanned tree with pycdlib, streaming file data.

Invariants: file contents are never loaded whole into memory (pycdlib copies
from lazily opened files in blocks, and at most one source file is open at a
time); a source file that changes size while the image is written raises
``IngestError`` instead of producing a silently corrupt image; every timestamp
on the image comes from the tree (mtimes), never from the clock.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from discflow.archive._clock import pinned_clock, set_pinned_time
from discflow.archive._names import volume_identifier
from discflow.archive._tree import EntryKind, TreeEntry, TreePlan
from discflow.errors import IngestError

__all__ = [
    "ISO_FILESYSTEMS",
    "UDF_FILE_THRESHOLD",
    "UDF_FILESYSTEMS",
    "build_image",
    "plan_filesystems",
]

#: A single ISO 9660 extent holds at most 2**32 - 1 bytes; from 4 GiB on, UDF is used.
UDF_FILE_THRESHOLD = 4 * 1024**3
ISO_FILESYSTEMS = ("iso9660", "joliet", "rockridge")
# UDF images keep the ISO 9660 side as a bridge, so ISO-only readers still work.
UDF_FILESYSTEMS = ("iso9660", "joliet", "rockridge", "udf")
_BLOCK = 1024 * 1024


def plan_filesystems(largest_file_bytes: int, *, udf: bool | None = None) -> tuple[str, ...]:
    """Which file systems an image needs for a tree whose largest file has this size.

    ``udf=None`` decides by size; ``True`` forces UDF; ``False`` refuses a tree
    that needs it.
    """
    needs_udf = largest_file_bytes >= UDF_FILE_THRESHOLD
    if udf is False and needs_udf:
        raise IngestError(
            f"a file of {largest_file_bytes} bytes needs UDF (ISO 9660 files stop below "
            "4 GiB); allow UDF or split the file"
        )
    return UDF_FILESYSTEMS if (udf or needs_udf) else ISO_FILESYSTEMS


class _LazySource:
    """A read-only file object that opens its file on first use and closes it at EOF."""

    mode = "rb"

    def __init__(self, entry: TreeEntry) -> None:
        self._entry = entry
        self._fp: BinaryIO | None = None
        self._pos = 0

    def _open(self) -> BinaryIO:
        if self._fp is None:
            try:
                self._fp = open(self._entry.source, "rb")  # closed at EOF or by close()
            except OSError as exc:
                raise IngestError(
                    f"{self._entry.rel_path!r} cannot be read ({exc.strerror}); "
                    "fix its permissions or remove it"
                ) from exc
            self._fp.seek(self._pos)
        return self._fp

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = self._entry.size + offset
        if self._fp is not None:
            self._fp.seek(self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        want = self._entry.size - self._pos if size < 0 else size
        want = max(0, min(want, self._entry.size - self._pos))
        if want == 0:
            self.close()
            return b""
        try:
            data = self._open().read(want)
        except OSError as exc:
            raise IngestError(f"{self._entry.rel_path!r} cannot be read ({exc})") from exc
        if len(data) != want:
            raise IngestError(
                f"{self._entry.rel_path!r} changed while the image was being built "
                f"(it was {self._entry.size} bytes when scanned); try again when it is stable"
            )
        self._pos += len(data)
        if self._pos >= self._entry.size:
            self.close()
        return data

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


def build_image(
    plan: TreePlan,
    out: BinaryIO,
    *,
    volume_name: str,
    filesystems: tuple[str, ...],
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write the image for ``plan`` to ``out``; return the volume identifier used."""
    vol_id = volume_identifier(volume_name)
    use_udf = "udf" in filesystems
    sources: list[_LazySource] = []
    iso: Any = pycdlib.PyCdlib()
    try:
        with pinned_clock(plan.newest_mtime, seed=f"{vol_id}:{plan.newest_mtime}"):
            # pycdlib writes the Joliet volume id as UCS-2 in 32 bytes: 16 characters.
            iso.new(
                interchange_level=3,
                vol_ident=vol_id[:16],
                joliet=3,
                rock_ridge="1.09",
                udf="2.60" if use_udf else None,
                app_ident_str="DISCFLOW",
            )
            iso.pvd.volume_identifier = vol_id.encode("ascii").ljust(32, b" ")
            for entry in plan.entries:
                set_pinned_time(entry.mtime)
                _add_entry(iso, entry, use_udf=use_udf, sources=sources)
            set_pinned_time(plan.newest_mtime)

            def relay(done: int, total: int, _opaque: object) -> None:
                if progress is not None:
                    progress(done, total)

            iso.write_fp(out, blocksize=_BLOCK, progress_cb=relay)
    except PyCdlibException as exc:
        raise IngestError(f"the image could not be built from {str(plan.root)!r}: {exc}") from exc
    finally:
        for source in sources:
            source.close()
        iso.close()
    return vol_id


def _add_entry(iso: Any, entry: TreeEntry, *, use_udf: bool, sources: list[_LazySource]) -> None:
    name = Path(entry.rel_path).name
    udf_path = "/" + entry.rel_path if use_udf else None
    if entry.kind is EntryKind.DIR:
        iso.add_directory(
            iso_path=entry.iso_path,
            rr_name=name,
            joliet_path=entry.joliet_path,
            file_mode=entry.mode,
            udf_path=udf_path,
        )
    elif entry.kind is EntryKind.FILE:
        source = _LazySource(entry)
        sources.append(source)
        iso.add_fp(
            source,
            entry.size,
            iso_path=entry.iso_path,
            rr_name=name,
            joliet_path=entry.joliet_path,
            file_mode=entry.mode,
            udf_path=udf_path,
        )
    else:
        # Joliet has no symlinks; Rock Ridge (and UDF) readers see the link.
        iso.add_symlink(
            symlink_path=entry.iso_path,
            rr_symlink_name=name,
            rr_path=entry.link_target,
            udf_symlink_path=udf_path,
            udf_target=entry.link_target if use_udf else None,
        )

"""Recognise and inspect ISO 9660 / UDF images.

Invariant: ``inspect_image`` either returns facts read from a complete, readable
image or raises ``IngestError`` saying what the file looks like and what is
expected. It never writes.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycdlib

from discflow.errors import IngestError

__all__ = [
    "ImageFacts",
    "check_names",
    "describe_content",
    "inspect_image",
    "recognition_sequence",
]

SECTOR = 2048
_FIRST_VRS_SECTOR = 16
# Volume descriptors and the UDF volume recognition sequence share one layout:
# a type byte, then a five-byte standard identifier.
_KNOWN_IDS = {b"CD001", b"BEA01", b"NSR02", b"NSR03", b"TEA01", b"BOOT2", b"CDW02"}
_MAX_VRS_SECTORS = 64
_EXPECTED = (
    "expected an ISO 9660 image (volume descriptor 'CD001' at byte 32769) "
    "or a UDF image (recognition sequence BEA01/NSR02/NSR03)"
)

# A few well-known signatures, so a refusal can say what the file is instead.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "an ELF executable"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ", "an xz file"),
)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    volume_id: str
    file_count: int
    filesystems: tuple[str, ...]
    size_bytes: int


def describe_content(head: bytes, size: int) -> str:
    """A short human description of a file that is not an image."""
    if size == 0:
        return "an empty file"
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if len(head) >= 512 and head[257:262] == b"ustar":
        return "a tar archive"
    if size < (_FIRST_VRS_SECTOR + 1) * SECTOR:
        return f"a file of {size} bytes, too small to hold an ISO volume descriptor"
    return f"a file of {size} bytes with no ISO 9660 or UDF volume descriptor"


def recognition_sequence(fp: Any, size: int) -> list[bytes]:
    """Standard identifiers found from sector 16 on, up to the first unknown one."""
    ids: list[bytes] = []
    for sector in range(_FIRST_VRS_SECTOR, _FIRST_VRS_SECTOR + _MAX_VRS_SECTORS):
        if (sector + 1) * SECTOR > size:
            break
        fp.seek(sector * SECTOR)
        ident = fp.read(6)[1:6]
        if ident not in _KNOWN_IDS:
            break
        ids.append(ident)
    return ids


def _refuse(name: str, what: str) -> IngestError:
    return IngestError(f"{name} is {what}; {_EXPECTED}")


def check_magic(path: Path) -> None:
    """Cheap first check on the source, before anything is copied."""
    size = path.stat().st_size
    with path.open("rb") as fp:
        head = fp.read(512)
        ids = recognition_sequence(fp, size)
    if b"CD001" not in ids and not ({b"NSR02", b"NSR03"} & set(ids) and b"BEA01" in ids):
        raise _refuse(path.name, describe_content(head, size))


def inspect_image(path: Path, *, display_name: str) -> ImageFacts:
    """Open ``path`` with pycdlib and check every file extent lies inside it."""
    size = os.stat(path).st_size
    with path.open("rb") as fp:
        head = fp.read(512)
        ids = recognition_sequence(fp, size)
    has_iso = b"CD001" in ids
    has_udf = b"BEA01" in ids and bool({b"NSR02", b"NSR03"} & set(ids))
    if not has_iso and not has_udf:
        raise _refuse(display_name, describe_content(head, size))
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(path))
    # pycdlib raises assorted errors (struct, index, unicode) on hostile bytes,
    # not only its own; any of them means "not a readable image".
    except Exception as exc:
        if not has_iso:
            raise IngestError(
                f"{display_name} is a UDF image without an ISO 9660 bridge, which discflow "
                f"cannot read ({exc}); rebuild it as a UDF bridge image (ISO 9660 + UDF)"
            ) from exc
        raise IngestError(
            f"{display_name} has an ISO 9660 volume descriptor but is damaged or "
            f"truncated ({exc}); {_EXPECTED}, complete and readable"
        ) from exc
    try:
        return _facts(iso, size=size, display_name=display_name)
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"{display_name} is a damaged image ({exc}); {_EXPECTED}") from exc
    finally:
        iso.close()


def _facts(iso: Any, *, size: int, display_name: str) -> ImageFacts:
    block = int(iso.logical_block_size)
    declared = int(iso.pvd.space_size) * block
    if declared > size:
        raise IngestError(
            f"{display_name} is a truncated image: its volume descriptor declares "
            f"{declared} bytes but the file holds {size}; copy the image again in full"
        )
    filesystems = ["iso9660"]
    if iso.has_joliet():
        filesystems.append("joliet")
    if iso.has_rock_ridge():
        filesystems.append("rockridge")
    if iso.has_udf():
        filesystems.append("udf")
    # Count through Joliet or UDF when present: the ISO 9660 side also lists
    # Rock Ridge symlinks and relocated-directory placeholders as files.
    walk_root = (
        {"joliet_path": "/"}
        if iso.has_joliet()
        else {"udf_path": "/"}
        if iso.has_udf()
        else {"iso_path": "/"}
    )
    file_count = 0
    for _dirpath, _dirs, files in iso.walk(**walk_root):
        file_count += len(files)
    _check_extents(iso, size=size, block=block, display_name=display_name)
    check_names(iso, display_name=display_name)
    volume_id = bytes(iso.pvd.volume_identifier).decode("ascii", "replace").strip(" \x00")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in volume_id):
        raise IngestError(
            f"{display_name}: the volume identifier {volume_id!r} holds control characters "
            "(line breaks would reach the robots' job files); rebuild the image with a plain "
            "volume name (A-Z, 0-9, _)"
        )
    return ImageFacts(
        volume_id=volume_id,
        file_count=file_count,
        filesystems=tuple(filesystems),
        size_bytes=size,
    )


def _bad_name(name: str) -> str | None:
    """Why ``name`` cannot be one component of a path on a disc, else None."""
    if name in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains control characters"
    return None


def check_names(iso: Any, *, display_name: str) -> None:
    """Refuse names that could leave the folder an image is extracted into.

    Every namespace the image carries is checked (Rock Ridge, Joliet, UDF,
    ISO 9660), because a device driver may extract through any of them: no
    component may be ``..``, hold a separator or a control character, and a
    Rock Ridge symlink must be relative and stay inside the image's tree.
    """
    kinds = ["iso_path"]
    if iso.has_rock_ridge():
        kinds.append("rr_path")
    if iso.has_joliet():
        kinds.append("joliet_path")
    if iso.has_udf():
        kinds.append("udf_path")
    for kind in kinds:
        for dirpath, dirs, files in iso.walk(**{kind: "/"}):
            for name in [*dirs, *files]:
                clean = name.split(";")[0] if kind == "iso_path" else name
                why = _bad_name(clean)
                if why is not None:
                    raise IngestError(
                        f"{display_name}: the name {name!r} in {dirpath!r} {why} "
                        f"({kind.split('_')[0]} names); such an image could write outside the "
                        "folder it is copied into: rebuild it with plain names"
                    )
        if kind == "rr_path":
            _check_symlinks(iso, display_name=display_name)


def _check_symlinks(iso: Any, *, display_name: str) -> None:
    for dirpath, _dirs, _files in iso.walk(rr_path="/"):
        for child in iso.list_children(rr_path=dirpath):
            if child.is_dot() or child.is_dotdot() or child.rock_ridge is None:
                continue
            if not child.rock_ridge.is_symlink():
                continue
            target = child.rock_ridge.symlink_path().decode("utf-8", "replace")
            parent = dirpath.strip("/")
            resolved = (
                posixpath.normpath(posixpath.join(parent, target))
                if parent
                else (posixpath.normpath(target))
            )
            if (
                target.startswith("/")
                or "\\" in target
                or resolved == ".."
                or resolved.startswith("../")
                or any(ord(ch) < 32 for ch in target)
            ):
                name = child.rock_ridge.name().decode("utf-8", "replace")
                raise IngestError(
                    f"{display_name}: {dirpath.rstrip('/')}/{name} is a symbolic link to "
                    f"{target!r}, outside the image's tree; rebuild the image without it"
                )


def _check_extents(iso: Any, *, size: int, block: int, display_name: str) -> None:
    # pycdlib.open reads only descriptors and directories, so an image cut
    # short in its file data would pass; check every file's extent ourselves.
    stack = [iso.get_record(iso_path="/")]
    while stack:
        rec = stack.pop()
        for child in iso.list_children(iso_path=_path_of(iso, rec)):
            if child.is_dot() or child.is_dotdot():
                continue
            if child.is_dir():
                stack.append(child)
                continue
            end = int(child.extent_location()) * block + int(child.get_data_length())
            if end > size:
                raise IngestError(
                    f"{display_name} is a truncated image: a file's data ends at byte "
                    f"{end} but the file holds {size}; copy the image again in full"
                )


def _path_of(iso: Any, rec: Any) -> str:
    return str(iso.full_path_from_dirrecord(rec))

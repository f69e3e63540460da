"""``discflow content add-dicom``: a folder or zip of DICOM files as a PDI disc content.

Invariants: a zip is unpacked into a temporary folder with every member's path
checked (no absolute paths, no "..", no links), non-DICOM files are skipped and
counted, and the archive receives complete images only; with ``owner`` the
content is that account's private content, as a DICOM request's would be.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session

from discflow import store
from discflow.archive import BlobStore
from discflow.dicom._pdi import build_discs
from discflow.domain import MEDIA_TYPES
from discflow.errors import InvalidInput
from discflow.store import Content

_MAX_MEMBERS = 100_000


@dataclass(frozen=True, slots=True)
class AddedDicom:
    contents: list[Content]
    instances: int
    skipped: int


def _unzip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        if len(members) > _MAX_MEMBERS:
            raise InvalidInput(f"{archive.name} has over {_MAX_MEMBERS} members")
        for member in members:
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise InvalidInput(f"{archive.name}: member {member.filename!r} leaves the folder")
            if member.is_dir():
                continue
            target = into.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)


def _dicom_files(root: Path) -> tuple[list[Path], int]:
    found: list[Path] = []
    skipped = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.name.upper() == "DICOMDIR":
            skipped += 1
            continue
        try:
            dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            skipped += 1
            continue
        found.append(path)
    return found, skipped


def add_dicom_content(
    session: Session,
    blobs: BlobStore,
    source: Path,
    *,
    title: str,
    media: str = "CD-R",
    allow_split: bool = True,
    owner_user_id: int | None = None,
    actor: str = "cli",
) -> AddedDicom:
    """PDI disc images of the DICOM files under ``source`` (a folder or a .zip)."""
    if media not in MEDIA_TYPES:
        raise InvalidInput(f"unknown media {media!r}; use one of {', '.join(MEDIA_TYPES)}")
    work = Path(tempfile.mkdtemp(prefix="add-dicom-"))
    try:
        root = source
        if source.is_file() and zipfile.is_zipfile(source):
            root = work / "unzipped"
            root.mkdir()
            _unzip(source, root)
        elif not source.is_dir():
            raise InvalidInput(f"{source} is neither a folder nor a zip of DICOM files")
        paths, skipped = _dicom_files(root)
        if not paths:
            raise InvalidInput(f"no DICOM files under {source}")
        trees = build_discs(
            paths,
            work / "discs",
            capacity_bytes=MEDIA_TYPES[media].capacity_bytes,
            allow_split=allow_split,
        )
        contents = []
        for tree in trees:
            image = blobs.ingest_directory(tree.folder, volume_name=f"DICOM_{tree.number}")
            suffix = f" (disc {tree.number} of {tree.total})" if tree.total > 1 else ""
            contents.append(
                store.add_content(
                    session,
                    title=title + suffix,
                    sha256=image.sha256,
                    size_bytes=image.size_bytes,
                    volume_id=image.volume_id,
                    filesystems=image.filesystems,
                    actor=actor,
                    owner_user_id=owner_user_id,
                )
            )
        return AddedDicom(contents, len(paths), skipped)
    finally:
        shutil.rmtree(work, ignore_errors=True)

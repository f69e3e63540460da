"""IHE PDI file-sets: the folder tree of one patient disc, ready to be mastered.

Layout of each disc (IHE RAD TF-3 4.47, PS3.10 8, PS3.11 Annex D STD-GEN-CD/DVD):

    DICOMDIR                  the file-set's directory (Explicit VR Little Endian)
    DICOM/PT000000/ST000000/SE000000/IM000000   the instances (ISO 9660 level-1 names)
    README.TXT                what the disc is, how to read it, what was derived
    INDEX.HTM                 an index a browser opens
    IHE_PDI/INDEX.HTM         (when Include Non-DICOM Objects asks) an XHTML listing

Invariants: every instance on a disc is Explicit VR Little Endian, transcoded from
Implicit VR when needed with its pixel data byte for byte the same; instances in a
compressed or big-endian transfer syntax are refused (STD-GEN-CD/DVD carry
uncompressed Explicit VR Little Endian only, and nothing here is lossy); a study
split over discs gives complete file-sets, each with its own DICOMDIR listing only
the files on that disc.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomFileLike
from pydicom.fileset import FileSet
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from discflow.dicom._pages import index_htm, pdi_xhtml, readme_txt
from discflow.dicom._records import leaf_nodes
from discflow.dicom._status import (
    REASON_CLASS_NOT_SUPPORTED,
    REASON_PROCESSING_FAILURE,
    StatusInfo,
)
from discflow.dicom._thumbs import write_thumbnails

# DICOMDIR, README, INDEX and the ISO 9660 directory records need room too
_RESERVE_BYTES = 4 * 1024 * 1024
_BLOCK = 2048


@dataclass(frozen=True, slots=True)
class Failed:
    sop_class: str
    sop_instance: str
    reason: int


class PdiRefusal(Exception):
    """The file-set cannot be made; ``info`` is the Execution Status Info to report."""

    def __init__(self, info: StatusInfo, message: str, failed: Sequence[Failed] = ()) -> None:
        super().__init__(message)
        self.info = info
        self.failed = list(failed)


@dataclass(frozen=True, slots=True)
class DiscTree:
    folder: Path
    file_set_uid: str
    file_set_id: str
    number: int
    total: int
    instance_uids: tuple[str, ...]
    first: Dataset  # the first instance (header only) for the label
    modalities: tuple[str, ...]
    derived: tuple[str, ...] = field(default=())


def _explicit(ds: Dataset) -> Dataset:
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax == ExplicitVRLittleEndian:
        return ds
    if syntax == ImplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        return ds
    raise ValueError(f"transfer syntax {syntax.name} is not allowed on STD-GEN media")


def _rounded(size: int) -> int:
    return -(-size // _BLOCK) * _BLOCK


def plan_discs(
    sizes: Sequence[tuple[str, int]], *, capacity_bytes: int, allow_split: bool
) -> list[list[str]]:
    """Instances (uid, bytes) in order, packed onto discs of ``capacity_bytes``."""
    room = capacity_bytes - _RESERVE_BYTES
    discs: list[list[str]] = [[]]
    used = 0
    for uid, size in sizes:
        need = _rounded(size)
        if need > room:
            raise PdiRefusal(StatusInfo.INST_OVERSIZED, f"instance {uid} is larger than one disc")
        if used + need > room:
            if not allow_split:
                raise PdiRefusal(
                    StatusInfo.SET_OVERSIZED,
                    "the file-set is larger than one disc and Allow Media Splitting is NO",
                )
            discs.append([])
            used = 0
        discs[-1].append(uid)
        used += need
    return discs


def _write_disc(
    datasets: Sequence[Dataset], folder: Path, *, file_set_uid: str, file_set_id: str
) -> list[str]:
    """One complete file-set in ``folder``; returns the derivations made for Annex F."""
    staging = folder.parent / (folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    fs = FileSet()
    fs.UID = UID(file_set_uid)
    fs.ID = file_set_id
    derived: list[str] = []
    for position, ds in enumerate(datasets, start=1):
        try:
            leaf, notes = leaf_nodes(ds, position=position)
        except ValueError as exc:  # a Type 1 key pydicom's recorder needs is missing
            failed = Failed(str(ds.SOPClassUID), str(ds.SOPInstanceUID), REASON_PROCESSING_FAILURE)
            raise PdiRefusal(StatusInfo.DIR_PROC_ERR, str(exc), [failed]) from exc
        derived += notes
        fs.add_custom(ds, leaf)
    fs.write(staging)
    # pydicom puts the PTxxxxxx folders beside DICOMDIR; PDI wants them under DICOM/,
    # so move them and rewrite each record's Referenced File ID, then let pydicom
    # re-encode the DICOMDIR (it recomputes every record offset).
    written = FileSet(staging / "DICOMDIR")
    (folder / "DICOM").mkdir(parents=True)
    for child in sorted(staging.iterdir()):
        if child.is_dir():
            shutil.move(str(child), str(folder / "DICOM" / child.name))
    for instance in written:
        parts = list(instance.FileID.replace("\\", "/").split("/"))
        instance.node._record.ReferencedFileID = ["DICOM", *parts]
    with (folder / "DICOMDIR").open("wb") as sink:
        written._write_dicomdir(DicomFileLike(sink))
    shutil.rmtree(staging)
    _check(folder, len(datasets))
    return derived


def _check(folder: Path, expected: int) -> None:
    """Read the DICOMDIR back: every record's file must exist, names level-1 only."""
    fs = FileSet(folder / "DICOMDIR")
    if len(fs) != expected:
        raise PdiRefusal(StatusInfo.DIR_PROC_ERR, "the DICOMDIR does not list every instance")
    for instance in fs:
        path = Path(instance.path)
        if not path.is_file():
            raise PdiRefusal(StatusInfo.DIR_PROC_ERR, f"DICOMDIR names a missing {path.name}")


def build_discs(
    paths: Sequence[Path],
    out: Path,
    *,
    capacity_bytes: int,
    allow_split: bool,
    file_set_uid: str = "",
    file_set_id: str = "",
    non_dicom: bool = False,
    note: str = "",
) -> list[DiscTree]:
    """File-set folders ``out/DISC1``, ``out/DISC2``... for the instances at ``paths``."""
    datasets: dict[str, Dataset] = {}
    failed: list[Failed] = []
    for path in paths:
        ds = dcmread(path)
        try:
            datasets[str(ds.SOPInstanceUID)] = _explicit(ds)
        except ValueError:
            failed.append(Failed(str(ds.SOPClassUID), str(ds.SOPInstanceUID),
                                 REASON_CLASS_NOT_SUPPORTED))  # fmt: skip
    if failed:
        raise PdiRefusal(
            StatusInfo.INST_AP_CONFLICT,
            "compressed or big-endian instances cannot go on STD-GEN-CD/DVD uncompressed",
            failed,
        )
    ordered = sorted(datasets.values(), key=_sort_key)
    sizes = [(str(ds.SOPInstanceUID), _size(paths, ds)) for ds in ordered]
    plan = plan_discs(sizes, capacity_bytes=capacity_bytes, allow_split=allow_split)
    trees: list[DiscTree] = []
    for number, uids in enumerate(plan, start=1):
        folder = out / f"DISC{number}"
        members = [datasets[uid] for uid in uids]
        uid = file_set_uid if (file_set_uid and len(plan) == 1) else str(generate_uid())
        set_id = (file_set_id or "DISCFLOW")[:13] + (f"_{number}" if len(plan) > 1 else "")
        derived = _write_disc(members, folder, file_set_uid=uid, file_set_id=set_id)
        tree = DiscTree(
            folder=folder,
            file_set_uid=uid,
            file_set_id=set_id,
            number=number,
            total=len(plan),
            instance_uids=tuple(uids),
            first=members[0],
            modalities=tuple(sorted({str(d.get("Modality", "OT")) for d in members})),
            derived=tuple(derived),
        )
        (folder / "README.TXT").write_text(readme_txt(tree, note=note), encoding="ascii")
        (folder / "INDEX.HTM").write_text(index_htm(members, tree), encoding="utf-8")
        if non_dicom:
            (folder / "IHE_PDI").mkdir()
            thumbs = write_thumbnails(members, folder / "IHE_PDI")
            (folder / "IHE_PDI" / "INDEX.HTM").write_text(
                pdi_xhtml(members, tree, thumbs), encoding="utf-8"
            )
        trees.append(tree)
    return trees


def _size(paths: Sequence[Path], ds: Dataset) -> int:
    filename = getattr(ds, "filename", None)
    if isinstance(filename, str):
        return Path(filename).stat().st_size
    return max(p.stat().st_size for p in paths)


def _sort_key(ds: Dataset) -> tuple[str, str, int, int]:
    def number(keyword: str) -> int:
        try:
            return int(ds.get(keyword) or 0)
        except (TypeError, ValueError):
            return 0

    return (
        str(ds.get("StudyInstanceUID", "")),
        str(ds.get("SeriesInstanceUID", "")),
        number("SeriesNumber"),
        number("InstanceNumber"),
    )

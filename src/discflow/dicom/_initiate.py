"""N-ACTION 1 (PS3.4 S.3.2.2): make the PDI file-sets, archive them, order the discs.

Invariants: the request is claimed (created -> building) in one transaction, the
file-sets are written and archived outside any transaction, and contents, order
and the ``ordered`` state are committed together, so an order exists only for
complete, archived images. A request that cannot be honoured ends ``failed``
with the Execution Status Info and Failed SOP Sequence N-GET reports; nothing is
ordered for it. Titles, volume names and file names carry the request's hash,
never patient data.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow import store
from discflow.archive import BlobStore
from discflow.dicom import _status as st
from discflow.dicom._attributes import DicomRefusal, Initiate
from discflow.dicom._face import face_fields, render_face
from discflow.dicom._lifecycle import RequestState
from discflow.dicom._pdi import DiscTree, PdiRefusal, build_discs
from discflow.dicom._requests import move, owned, principal_of
from discflow.dicom._settings import DicomSettings
from discflow.dicom._ship import ship_to_for
from discflow.dicom._status import StatusInfo
from discflow.dicom._tables import DicomInstance, MediaRequest
from discflow.domain import MEDIA_TYPES, Priority
from discflow.store import Database, OrderLine, utcnow

_log = logging.getLogger("discflow.dicom")


@dataclass(frozen=True, slots=True)
class Context:
    database: Database
    blobs: BlobStore
    settings: DicomSettings
    data_dir: Path

    @property
    def spool(self) -> Path:
        return self.settings.spool_dir(self.data_dir)


def _fail(ctx: Context, uid: str, info: StatusInfo, failed: list[dict[str, Any]], why: str) -> None:
    with ctx.database.transaction() as session:
        request = session.get(MediaRequest, uid)
        assert request is not None
        request.status_info = info.value
        request.failed = failed
        request.detail = why
        move(request, RequestState.FAILED)
    _log.info("media creation request %s failed: %s", _short(uid), info.value)


def _short(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class Claimed:
    uid: str
    user_id: int
    paths: list[Path]
    attributes: dict[str, Any]


def _gather(ctx: Context, session: Session, request: MediaRequest) -> Claimed:
    """What a build needs: the spool paths of the named instances, flags, and what is missing."""
    wanted = [ref["instance"] for ref in request.references]
    rows = {
        row.sop_instance_uid: row
        for row in session.scalars(
            select(DicomInstance).where(DicomInstance.sop_instance_uid.in_(wanted))
        )
        if row.user_id == request.user_id
    }
    attributes = dict(request.attributes)
    attributes["_references"] = list(request.references)
    attributes["_missing"] = [
        {
            "class": ref["class"],
            "instance": ref["instance"],
            "reason": st.REASON_NO_SUCH_INSTANCE,
        }  # fmt: skip
        for ref in request.references
        if ref["instance"] not in rows
    ]
    attributes["_duplicates"] = len(wanted) != len(set(wanted))
    if attributes.get("PreserveCompositeInstancesAfterMediaCreation") == "YES":
        # kept past the discs for a later request, for one more time-to-live
        until = utcnow() + timedelta(seconds=ctx.settings.instance_ttl_s)
        for row in rows.values():
            row.preserve = True
            row.expires_at = max(row.expires_at, until)
    paths = [ctx.spool / rows[uid].file_name for uid in dict.fromkeys(wanted) if uid in rows]
    return Claimed(request.uid, request.user_id, paths, attributes)


def claim(ctx: Context, uid: str, *, user_id: int, action: Initiate) -> Claimed:
    """The part of N-ACTION 1 answered at once: created -> building, or a refusal."""
    with ctx.database.transaction() as session:
        request = owned(session, uid, user_id, lock=True)
        if request.state != RequestState.CREATED.value:
            raise DicomRefusal(st.INITIATE_ALREADY_RECEIVED, "an initiate was already received")
        request.copies = action.copies
        request.priority = action.priority
        move(request, RequestState.BUILDING)
        return _gather(ctx, session, request)


def interrupted(ctx: Context) -> list[Claimed]:
    """Requests left ``building`` by a server that stopped mid-way, to build again.

    Safe to repeat: images are stored by sha256, and contents and the order are
    committed with the ``ordered`` state in one transaction, so none exist yet."""
    with ctx.database.transaction() as session:
        left = session.scalars(
            select(MediaRequest).where(MediaRequest.state == RequestState.BUILDING.value)
        )
        return [_gather(ctx, session, request) for request in left]


def initiate(ctx: Context, uid: str, *, user_id: int, action: Initiate) -> None:
    """Claim, then build, archive and order in this thread."""
    build(ctx, claim(ctx, uid, user_id=user_id, action=action))


def build(ctx: Context, claimed: Claimed) -> None:
    """Build, archive and order a claimed request; a failure is reported by N-GET."""
    uid, user_id, paths, attributes = (
        claimed.uid, claimed.user_id, claimed.paths, claimed.attributes
    )  # fmt: skip
    references: list[dict[str, str]] = attributes["_references"]
    if attributes["_missing"]:
        return _fail(ctx, uid, StatusInfo.NO_INSTANCE, attributes["_missing"], "not received")
    if attributes["_duplicates"]:
        return _fail(ctx, uid, StatusInfo.DUPL_REF_INST, [], "an instance is named twice")
    profiles = {ref["profile"] for ref in references}
    unsupported = [r for r in references if r["profile"] not in st.SUPPORTED_PROFILES]
    if unsupported:
        failed = [{"class": r["class"], "instance": r["instance"],
                   "reason": st.REASON_CLASS_NOT_SUPPORTED} for r in unsupported]  # fmt: skip
        return _fail(ctx, uid, StatusInfo.NOT_SUPPORTED, failed, "profile not supported")
    media_name = ctx.settings.dvd_media if "STD-GEN-DVD" in profiles else ctx.settings.cd_media
    capacity = ctx.settings.disc_capacity_bytes or MEDIA_TYPES[media_name].capacity_bytes
    work = Path(tempfile.mkdtemp(prefix="pdi-", dir=ctx.data_dir))
    try:
        try:
            trees = build_discs(
                paths,
                work,
                capacity_bytes=capacity,
                allow_split=attributes.get("AllowMediaSplitting", "NO") == "YES",
                file_set_uid=attributes.get("StorageMediaFileSetUID", ""),
                file_set_id=attributes.get("StorageMediaFileSetID", ""),
                non_dicom=attributes.get("IncludeNonDICOMObjects", "NO") != "NO",
            )
        except PdiRefusal as refusal:
            failed = [{"class": f.sop_class, "instance": f.sop_instance, "reason": f.reason}
                      for f in refusal.failed]  # fmt: skip
            return _fail(ctx, uid, refusal.info, failed, str(refusal))
        _order(ctx, uid, user_id, trees, media_name=media_name, attributes=attributes)
    except Exception as exc:  # a broken file-set must not leave the request building forever
        _log.exception("media creation request %s could not be built", _short(uid))
        _fail(ctx, uid, StatusInfo.PROC_FAILURE, [], type(exc).__name__)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return None


def _order(
    ctx: Context,
    uid: str,
    user_id: int,
    trees: list[DiscTree],
    *,
    media_name: str,
    attributes: dict[str, Any],
) -> None:
    short = _short(uid)
    stored = [
        ctx.blobs.ingest_directory(tree.folder, volume_name=f"DICOM_{short[:6]}_{tree.number}")
        for tree in trees
    ]
    faces_dir = ctx.settings.faces_dir(ctx.data_dir)
    faces_dir.mkdir(parents=True, exist_ok=True)
    with ctx.database.transaction() as session:
        request = owned(session, uid, user_id, lock=True)
        principal = principal_of(session, user_id)
        lines = []
        discs = []
        faces = []
        for tree, image in zip(trees, stored, strict=True):
            face = face_fields(
                tree.first,
                modalities=tree.modalities,
                number=tree.number,
                total=tree.total,
                label_text=attributes.get("LabelText", ""),
                extract=attributes.get("LabelUsingInformationExtractedFromInstances", "YES")
                != "NO",
                barcode_value=attributes.get("BarcodeValue", ""),
                barcode_symbology=attributes.get("BarcodeSymbology", ""),
            )
            content = store.add_content(
                session,
                title=f"Patient disc {short} {tree.number} of {tree.total}",
                sha256=image.sha256,
                size_bytes=image.size_bytes,
                volume_id=image.volume_id,
                filesystems=image.filesystems,
                actor=f"dicom:{request.calling_ae}",
                owner_user_id=user_id,
                face_fields=dict(face.fields),  # printed by a robot's own label design
            )
            lines.append(OrderLine(content.id, media_name, request.copies))
            discs.append({"content_id": content.id, "file_set_uid": tree.file_set_uid,
                          "file_set_id": tree.file_set_id, "number": tree.number})  # fmt: skip
            faces.append((content.id, face))
        ship = ship_to_for(session, user_id, attributes.get("MediaDisposition", ""),
                           country=ctx.settings.ship_country)  # fmt: skip
        priority = Priority(st.PRIORITIES[request.priority])
        placed = store.place_order(
            session, principal, lines, ship, source="dicom", priority=priority
        )
        for content_id, face in faces:
            pdf = render_face(face, order_id=placed.order.id)
            (faces_dir / f"{content_id}.pdf").write_bytes(pdf)
        request.order_id = placed.order.id
        request.media = media_name
        request.discs = discs
        move(request, RequestState.ORDERED)
    _log.info("media creation request %s ordered as %s", short, placed.order.id)

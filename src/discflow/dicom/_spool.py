"""Received instances: written whole to the spool, then recorded; swept when expired.

Invariants: a file is written to ``<spool>/tmp`` and renamed into place only when
complete, and its row is added in the caller's transaction afterwards, so a
refused or interrupted C-STORE leaves neither a row nor a file. File names are a
hash of the SOP Instance UID: nothing about the patient reaches a file name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from discflow.dicom import _status as st
from discflow.dicom._attributes import DicomRefusal
from discflow.dicom._tables import DicomInstance, MediaRequest
from discflow.store import utcnow


def file_name(sop_instance_uid: str) -> str:
    return hashlib.sha256(sop_instance_uid.encode()).hexdigest()[:40] + ".dcm"


def _check(ds: Dataset, affected_uid: str) -> tuple[str, str]:
    try:
        for _element in ds.iterall():  # decode everything now: a broken element raises here
            pass
        sop_class = str(ds.SOPClassUID)
        sop_instance = str(ds.SOPInstanceUID)
    except Exception as exc:
        raise DicomRefusal(st.STORE_CANNOT_UNDERSTAND, f"cannot decode the dataset: {exc}") from exc
    if not sop_instance or (affected_uid and sop_instance != affected_uid):
        raise DicomRefusal(
            st.STORE_DATASET_MISMATCH,
            "SOP Instance UID differs from the Affected SOP Instance UID",
        )
    return sop_class, sop_instance


def store_instance(
    session: Session,
    spool: Path,
    ds: Dataset,
    meta: FileMetaDataset,
    *,
    affected_uid: str,
    user_id: int,
    calling_ae: str,
    ttl_s: float,
) -> DicomInstance:
    """Keep one C-STORE'd instance; refuse a malformed one with a Storage status."""
    sop_class, sop_instance = _check(ds, affected_uid)
    existing = session.get(DicomInstance, sop_instance)
    if existing is not None and existing.user_id != user_id:
        raise DicomRefusal(
            st.STORE_OUT_OF_RESOURCES, "this SOP Instance UID was sent by another account"
        )
    ds.file_meta = meta
    (spool / "tmp").mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=spool / "tmp", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        ds.save_as(tmp, enforce_file_format=True)
        name = file_name(sop_instance)
        size = tmp.stat().st_size
        os.replace(tmp, spool / name)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise DicomRefusal(st.STORE_CANNOT_UNDERSTAND, f"cannot write the dataset: {exc}") from exc
    now = utcnow()
    row = existing or DicomInstance(sop_instance_uid=sop_instance, user_id=user_id)
    row.sop_class_uid = sop_class
    row.transfer_syntax_uid = str(meta.TransferSyntaxUID)
    row.file_name = name
    row.size_bytes = size
    row.calling_ae = calling_ae
    row.received_at = now
    row.expires_at = now + timedelta(seconds=ttl_s)
    session.add(row)
    return row


def delete_instances(session: Session, spool: Path, uids: list[str]) -> int:
    query = select(DicomInstance).where(DicomInstance.sop_instance_uid.in_(uids))
    rows = list(session.scalars(query))
    for row in rows:
        (spool / row.file_name).unlink(missing_ok=True)
    session.execute(delete(DicomInstance).where(DicomInstance.sop_instance_uid.in_(uids)))
    return len(rows)


def _in_use(session: Session) -> set[str]:
    # instances named by a request that is still on its way keep living past their expiry
    busy = session.scalars(
        select(MediaRequest).where(MediaRequest.state.in_(("created", "building", "ordered")))
    )
    return {ref["instance"] for request in busy for ref in request.references}


def sweep_expired(session: Session, spool: Path, *, now: datetime | None = None) -> int:
    """Delete the instances whose time ran out and that no open request names.

    Preserved instances expire too (PS3.4 S.3.2.2.3: the flag is a hint); their
    time was restarted when the request that preserves them was initiated."""
    now = now or utcnow()
    expired = [
        row.sop_instance_uid
        for row in session.scalars(select(DicomInstance).where(DicomInstance.expires_at < now))
    ]
    keep = _in_use(session)
    return delete_instances(session, spool, [uid for uid in expired if uid not in keep])

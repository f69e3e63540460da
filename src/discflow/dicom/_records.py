"""Directory records of a DICOMDIR (PS3.3 Annex F) for one instance, with derived keys.

Invariant: the instance is never changed; when it lacks a key that Annex F makes
Type 1 for its record, the record carries a derived value and the derivation is
returned so it can be written to README.TXT (documented, not hidden):

- PATIENT  Patient ID (F.5.1, Type 1): missing -> "NOID" + 8 hex digits of the
  Study Instance UID's sha256 (one patient per study, stable across discs).
- STUDY    Study Date, Study Time (Type 1 on STD-GEN media): missing -> "" is not
  allowed, so the Content/Series/Acquisition date and time, else 19000101/000000;
  Study ID (Type 1): missing -> "1".
- SERIES   Modality (Type 1): missing -> "OT"; Series Number (Type 1): missing -> 1.
- IMAGE    Instance Number (Type 1): missing -> position in the series, from 1.
- ENCAP DOC (encapsulated PDF, F.5.19) Instance Number, MIME Type of Encapsulated
  Document (Type 1): missing -> "application/pdf" for Encapsulated PDF Storage.
- SR DOCUMENT, KEY OBJECT DOC, PRESENTATION, WAVEFORM, RT ...: pydicom's own
  recorder (``DIRECTORY_RECORDERS``); a missing Type 1 key there refuses the
  instance (DIR_PROC_ERR) instead of guessing clinical values.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydicom.dataset import Dataset
from pydicom.fileset import DIRECTORY_RECORDERS, RecordNode

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
# leaf record type by SOP Class UID prefix (PS3.3 F.4, Table F.4-1); the rest are IMAGE
_LEAF_BY_PREFIX = (
    ("1.2.840.10008.5.1.4.1.1.88.59", "KEY OBJECT DOC"),
    ("1.2.840.10008.5.1.4.1.1.88.", "SR DOCUMENT"),
    ("1.2.840.10008.5.1.4.1.1.11.", "PRESENTATION"),
    ("1.2.840.10008.5.1.4.1.1.9.", "WAVEFORM"),
    ("1.2.840.10008.5.1.4.1.1.481.2", "RT DOSE"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT STRUCTURE SET"),
    ("1.2.840.10008.5.1.4.1.1.481.5", "RT PLAN"),
    ("1.2.840.10008.5.1.4.1.1.481.4", "RT TREAT RECORD"),
    ("1.2.840.10008.5.1.4.1.1.66", "REGISTRATION"),
)


def leaf_type(sop_class: str) -> str:
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.104."):
        return "ENCAP DOC"
    for prefix, kind in _LEAF_BY_PREFIX:
        if sop_class.startswith(prefix):
            return kind
    return "IMAGE"


def _value(ds: Dataset, keyword: str) -> Any:
    value = ds.get(keyword)
    if value is None or str(value).strip() == "":
        return None
    return value


def _first(ds: Dataset, *keywords: str) -> Any:
    for keyword in keywords:
        value = _value(ds, keyword)
        if value is not None:
            return value
    return None


def _record(kind: str, ds: Dataset) -> Dataset:
    record = Dataset()
    record.DirectoryRecordType = kind
    if "SpecificCharacterSet" in ds:
        record.SpecificCharacterSet = ds.SpecificCharacterSet
    return record


def leaf_nodes(ds: Dataset, *, position: int) -> tuple[RecordNode, list[str]]:
    """The PATIENT -> STUDY -> SERIES -> leaf chain for ``ds`` and what was derived."""
    derived: list[str] = []
    uid = str(ds.SOPInstanceUID)

    def need(keyword: str, fallback: Any, *alternatives: str) -> Any:
        value = _first(ds, keyword, *alternatives)
        if value is None:
            derived.append(f"{uid}: {keyword} derived as {fallback!r}")
            return fallback
        return value

    study_uid = str(_value(ds, "StudyInstanceUID") or uid)
    patient = _record("PATIENT", ds)
    patient.PatientName = ds.get("PatientName", "")
    token = hashlib.sha256(study_uid.encode()).hexdigest()[:8].upper()
    patient.PatientID = need("PatientID", f"NOID{token}")
    study = _record("STUDY", ds)
    study.StudyDate = need("StudyDate", "19000101", "SeriesDate", "AcquisitionDate", "ContentDate")
    study.StudyTime = need("StudyTime", "000000", "SeriesTime", "AcquisitionTime", "ContentTime")
    study.StudyDescription = ds.get("StudyDescription", "")
    study.StudyInstanceUID = study_uid
    study.StudyID = need("StudyID", "1")
    study.AccessionNumber = ds.get("AccessionNumber", "")
    series = _record("SERIES", ds)
    series.Modality = need("Modality", "OT")
    series.SeriesInstanceUID = str(_value(ds, "SeriesInstanceUID") or study_uid + ".1")
    series.SeriesNumber = need("SeriesNumber", 1)
    kind = leaf_type(str(ds.SOPClassUID))
    if kind not in ("IMAGE", "ENCAP DOC"):
        # pydicom's own recorder for the other leaf types; it raises ValueError naming
        # a missing Type 1 key, which the caller reports as DIR_PROC_ERR
        view = ds
        if _value(ds, "InstanceNumber") is None:  # not clinical: derived as for IMAGE
            view = Dataset()
            view.update(ds)
            view.InstanceNumber = need("InstanceNumber", position)
        leaf = DIRECTORY_RECORDERS[kind](view)
        leaf.DirectoryRecordType = kind
    elif kind == "ENCAP DOC":
        leaf = _record("ENCAP DOC", ds)
        leaf.ContentDate = ds.get("ContentDate", "")
        leaf.ContentTime = ds.get("ContentTime", "")
        leaf.InstanceNumber = need("InstanceNumber", position)
        leaf.DocumentTitle = ds.get("DocumentTitle", "")
        mime = "application/pdf" if str(ds.SOPClassUID) == ENCAPSULATED_PDF else None
        leaf.MIMETypeOfEncapsulatedDocument = need("MIMETypeOfEncapsulatedDocument", mime)
    else:
        leaf = _record("IMAGE", ds)
        leaf.InstanceNumber = need("InstanceNumber", position)
    # the leaf must name its instance before it becomes a node (pydicom keys on it)
    leaf.ReferencedSOPClassUIDInFile = ds.SOPClassUID
    leaf.ReferencedSOPInstanceUIDInFile = ds.SOPInstanceUID
    leaf.ReferencedTransferSyntaxUIDInFile = ds.file_meta.TransferSyntaxUID
    nodes = [RecordNode(r) for r in (patient, study, series, leaf)]
    for parent, child in zip(nodes, nodes[1:], strict=False):
        child.parent = parent
    return nodes[-1], derived

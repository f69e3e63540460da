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
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydicom.dataset import Dataset
from pydicom.fileset import RecordNode

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"


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
    if str(ds.SOPClassUID) == ENCAPSULATED_PDF:
        leaf = _record("ENCAP DOC", ds)
        leaf.ContentDate = ds.get("ContentDate", "")
        leaf.ContentTime = ds.get("ContentTime", "")
        leaf.InstanceNumber = need("InstanceNumber", position)
        leaf.DocumentTitle = ds.get("DocumentTitle", "")
        leaf.MIMETypeOfEncapsulatedDocument = need(
            "MIMETypeOfEncapsulatedDocument", "application/pdf"
        )
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

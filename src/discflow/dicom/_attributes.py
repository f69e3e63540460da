"""Reading an N-CREATE / N-ACTION dataset into checked values (no I/O).

Invariant: a refusal always carries the standard's status code, the offending tag
and a comment that says what to send instead (PS3.7 C: Offending Element, Error
Comment), so an SCU's log tells its operator what to fix. Per PS3.4 S.3.2.1.3 the
N-CREATE does not check whether the referenced instances exist: that is decided
at N-ACTION and reported by N-GET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from discflow.dicom import _status as st

_YES_NO = ("YES", "NO")
# PS3.3 C.22.1: Include Non-DICOM Objects defined terms
_NON_DICOM = ("NO", "FOR_PHYSICIAN", "FOR_PATIENT", "FOR_TEACHING", "FOR_RESEARCH")
# attributes kept verbatim, keyword -> allowed values (None: free text)
_KEPT: dict[str, tuple[str, ...] | None] = {
    "StorageMediaFileSetID": None,
    "StorageMediaFileSetUID": None,
    "LabelUsingInformationExtractedFromInstances": _YES_NO,
    "LabelText": None,
    "LabelStyleSelection": None,
    "BarcodeValue": None,
    "BarcodeSymbology": None,
    "MediaDisposition": None,
    "AllowMediaSplitting": _YES_NO,
    "AllowLossyCompression": _YES_NO,
    "IncludeNonDICOMObjects": _NON_DICOM,
    "IncludeDisplayApplication": _YES_NO,
    "PreserveCompositeInstancesAfterMediaCreation": _YES_NO,
}
_MAX_REFERENCES = 10_000
_FILE_SET_ID = re.compile(r"^[A-Z0-9_ ]{1,16}$")


class DicomRefusal(Exception):
    """A request the SCP answers with a failure status."""

    def __init__(self, status: int, comment: str, *, tag: int | None = None) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment[:64]  # Error Comment is LO: 64 characters
        self.tag = tag

    def as_dataset(self) -> Dataset:
        ds = Dataset()
        ds.Status = self.status
        ds.ErrorComment = self.comment
        if self.tag is not None:
            ds.OffendingElement = [self.tag]
        return ds


@dataclass(frozen=True, slots=True)
class RequestSpec:
    attributes: dict[str, str] = field(default_factory=dict)
    references: list[dict[str, str]] = field(default_factory=list)


def _text(ds: Dataset, keyword: str) -> str:
    value: Any = ds.get(keyword)
    if value is None:
        return ""
    return str(value).strip()


def parse_create(ds: Dataset) -> RequestSpec:
    """The N-CREATE attribute list, checked against PS3.4 Table S.3.2.1.1-1."""
    try:
        keywords = [elem.keyword for elem in ds]
    except Exception as exc:  # pydicom decodes lazily: a broken element shows up here
        raise DicomRefusal(st.INVALID_ATTRIBUTE_VALUE, f"undecodable dataset: {exc}") from exc
    unknown = [k for k in keywords if k and k not in _KEPT and k not in _ALSO_ACCEPTED]
    if unknown:
        tag = ds.data_element(unknown[0])
        raise DicomRefusal(
            st.NO_SUCH_ATTRIBUTE,
            f"{unknown[0]} is not a Media Creation attribute",
            tag=int(tag.tag) if tag is not None else None,
        )
    attributes: dict[str, str] = {}
    for keyword, allowed in _KEPT.items():
        if keyword not in ds:
            continue
        value = _text(ds, keyword)
        if allowed is not None and value and value not in allowed:
            raise DicomRefusal(
                st.INVALID_ATTRIBUTE_VALUE,
                f"{keyword} must be one of {', '.join(allowed)}",
                tag=int(ds.data_element(keyword).tag),  # type: ignore[union-attr]
            )
        if value:
            attributes[keyword] = value
    _refuse_unsupported(attributes)
    return RequestSpec(attributes, _references(ds))


_ALSO_ACCEPTED = ("SpecificCharacterSet", "ReferencedSOPSequence")


def _refuse_unsupported(attributes: dict[str, str]) -> None:
    # PS3.4 S.3.2.1.1.8: no DICOM viewer is shipped, so a request for one cannot be honoured
    if attributes.get("IncludeDisplayApplication") == "YES":
        raise DicomRefusal(
            st.INVALID_ATTRIBUTE_VALUE,
            "IncludeDisplayApplication YES: this SCP writes no viewer",
            tag=0x22000009,
        )
    uid = attributes.get("StorageMediaFileSetUID", "")
    if uid and not UID(uid).is_valid:
        raise DicomRefusal(
            st.INVALID_ATTRIBUTE_VALUE, "StorageMediaFileSetUID is not a UID", tag=0x00880140
        )
    file_set_id = attributes.get("StorageMediaFileSetID", "")
    if file_set_id and not _FILE_SET_ID.match(file_set_id):
        # PS3.10 8.5 / PS3.12: a File-set ID is 1-16 of A-Z, 0-9, "_" and space
        raise DicomRefusal(
            st.INVALID_ATTRIBUTE_VALUE, "StorageMediaFileSetID: 16 of A-Z 0-9 _", tag=0x00880130
        )


def _references(ds: Dataset) -> list[dict[str, str]]:
    sequence = ds.get("ReferencedSOPSequence")
    if not sequence:
        raise DicomRefusal(
            st.MISSING_ATTRIBUTE, "ReferencedSOPSequence is required", tag=0x00081199
        )
    if len(sequence) > _MAX_REFERENCES:
        raise DicomRefusal(
            st.RESOURCE_LIMITATION, f"at most {_MAX_REFERENCES} instances", tag=0x00081199
        )
    references = []
    for item in sequence:
        sop_class = _text(item, "ReferencedSOPClassUID")
        sop_instance = _text(item, "ReferencedSOPInstanceUID")
        if not sop_class or not sop_instance:
            raise DicomRefusal(
                st.MISSING_ATTRIBUTE_VALUE,
                "each item needs ReferencedSOPClassUID and ReferencedSOPInstanceUID",
                tag=0x00081199,
            )
        if not UID(sop_instance).is_valid or not UID(sop_class).is_valid:
            raise DicomRefusal(
                st.INVALID_ATTRIBUTE_VALUE, "a referenced UID is not a UID", tag=0x00081199
            )
        profile = _text(item, "RequestedMediaApplicationProfile") or st.DEFAULT_PROFILE
        references.append({"class": sop_class, "instance": sop_instance, "profile": profile})
    return references


@dataclass(frozen=True, slots=True)
class Initiate:
    copies: int
    priority: str  # HIGH | MED | LOW


def parse_initiate(ds: Dataset | None) -> Initiate:
    """The N-ACTION 1 Action Information (PS3.4 Table S.3.2.2.1-1); both are optional."""
    if ds is None:
        return Initiate(1, "MED")
    raw_copies: Any = ds.get("NumberOfCopies")
    try:
        copies = 1 if raw_copies is None or str(raw_copies) == "" else int(raw_copies)
    except (TypeError, ValueError) as exc:
        raise DicomRefusal(
            st.INVALID_ARGUMENT_VALUE, "NumberOfCopies must be a number", tag=0x20000010
        ) from exc
    if not 1 <= copies <= 99:
        raise DicomRefusal(
            st.INVALID_ARGUMENT_VALUE, "NumberOfCopies must be 1 to 99", tag=0x20000010
        )
    priority = _text(ds, "RequestPriority") or "MED"
    if priority not in st.PRIORITIES:
        raise DicomRefusal(
            st.INVALID_ARGUMENT_VALUE, "RequestPriority must be HIGH, MED or LOW", tag=0x22000020
        )
    return Initiate(copies, priority)

"""A real DICOM SCU (pynetdicom) and a small study made from pydicom's own test files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, StoragePresentationContexts, evt

MCM = "1.2.840.10008.5.1.1.33"
VERIFICATION = "1.2.840.10008.1.1"
PATIENT = "Quexbrill^Hildegard"  # a name that appears nowhere else in the code base
PATIENT_ID = "PID-77231"


def study(count: int = 4, *, patient: str = PATIENT) -> list[Dataset]:
    """``count`` instances of one study: Implicit VR MR images plus one Explicit VR CT."""
    study_uid = generate_uid()
    series_uid = generate_uid()
    made = []
    for index in range(count):
        name = "CT_small.dcm" if index == count - 1 else "MR_small_implicit.dcm"
        path = get_testdata_file(name)
        assert path is not None
        ds = dcmread(path)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid if index < count - 1 else generate_uid()
        ds.InstanceNumber = index + 1
        ds.PatientName = patient
        ds.PatientID = PATIENT_ID
        ds.PatientBirthDate = "19610214"
        ds.StudyDate = "20261120"
        ds.StudyDescription = "Knee left"
        ds.InstitutionName = "Harbour Imaging Centre"
        made.append(ds)
    return made


def write_study(folder: Path, datasets: list[Dataset]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(datasets):
        path = folder / f"{index}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def scu(ae_title: str = "PACS1") -> AE:
    ae = AE(ae_title=ae_title)
    ae.add_requested_context(VERIFICATION)
    ae.add_requested_context(MCM)
    for context in StoragePresentationContexts[:100]:
        ae.add_requested_context(
            context.abstract_syntax, [ImplicitVRLittleEndian, ExplicitVRLittleEndian]
        )
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae


class Responses:
    """The Affected SOP Instance UID of each response received, as the wire carried it."""

    def __init__(self) -> None:
        self.affected: list[str] = []

    def __call__(self, event: Any) -> None:
        command = event.message.command_set
        if "AffectedSOPInstanceUID" in command:
            self.affected.append(str(command.AffectedSOPInstanceUID))


@contextmanager
def association(port: int, ae_title: str = "PACS1") -> Iterator[Any]:
    responses = Responses()
    assoc = scu(ae_title).associate(
        "127.0.0.1", port, ae_title="DISCFLOW", evt_handlers=[(evt.EVT_DIMSE_RECV, responses)]
    )
    assoc.responses = responses
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def create_request(datasets: list[Dataset], **attributes: Any) -> Dataset:
    ds = Dataset()
    items = []
    for instance in datasets:
        item = Dataset()
        item.ReferencedSOPClassUID = instance.SOPClassUID
        item.ReferencedSOPInstanceUID = instance.SOPInstanceUID
        item.RequestedMediaApplicationProfile = attributes.pop("profile", "STD-GEN-CD")
        items.append(item)
    ds.ReferencedSOPSequence = items
    ds.LabelUsingInformationExtractedFromInstances = "YES"
    ds.MediaDisposition = "Dr. Amadea Referrer\nOrthopaedics, 12 Harbour Road\nSpringfield"
    ds.AllowMediaSplitting = "NO"
    ds.IncludeNonDICOMObjects = "NO"
    ds.IncludeDisplayApplication = "NO"
    ds.PreserveCompositeInstancesAfterMediaCreation = "NO"
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def initiate(copies: int = 2, priority: str = "HIGH") -> Dataset:
    ds = Dataset()
    ds.NumberOfCopies = copies
    ds.RequestPriority = priority
    return ds

"""IHE PDI file-sets (PS3.10 8, PS3.11 Annex D STD-GEN-CD, PS3.3 Annex F, IHE RAD TF-3 4.47)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from discflow.dicom import PdiRefusal, build_discs, plan_discs
from tests.dicom.peers import study, write_study

CD = 700 * 1024 * 1024


def test_layout_transcoding_and_annex_f_keys(tmp_path: Path) -> None:
    datasets = study(3)
    del datasets[1].StudyID  # Annex F makes it Type 1: derived, the instance left as sent
    paths = write_study(tmp_path / "in", datasets)
    [disc] = build_discs(
        paths,
        tmp_path / "out",
        capacity_bytes=CD,
        allow_split=False,
        file_set_id="HARBOUR",
        file_set_uid="1.2.826.0.1.3680043.8.498.7",
    )
    root = disc.folder
    assert sorted(p.name for p in root.iterdir()) == ["DICOM", "DICOMDIR", "INDEX.HTM",
                                                     "README.TXT"]  # fmt: skip
    fs = FileSet(root / "DICOMDIR")
    assert str(fs.UID) == "1.2.826.0.1.3680043.8.498.7" and fs.ID == "HARBOUR"
    assert dcmread(root / "DICOMDIR").file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    by_uid = {str(ds.SOPInstanceUID): ds for ds in datasets}
    for instance in fs:
        path = Path(instance.path)
        relative = path.relative_to(root)
        assert relative.parts[0] == "DICOM"
        assert all(len(p) <= 8 and p == p.upper() and "." not in p for p in relative.parts)
        written = dcmread(path)
        original = by_uid[str(written.SOPInstanceUID)]
        assert written.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert written.PixelData == original.PixelData  # pixel data byte for byte
        assert written.PatientName == original.PatientName
    records = {r.DirectoryRecordType for r in dcmread(root / "DICOMDIR").DirectoryRecordSequence}
    assert records == {"PATIENT", "STUDY", "SERIES", "IMAGE"}
    readme = (root / "README.TXT").read_text()
    assert "StudyID derived" in readme or all("StudyID" in ds for ds in datasets[:1])
    assert "Quexbrill" not in readme  # README names no patient
    assert "Quexbrill" in (root / "INDEX.HTM").read_text()


def test_a_study_larger_than_a_disc_is_split_into_complete_file_sets(tmp_path: Path) -> None:
    paths = write_study(tmp_path / "in", study(5))
    size = max(p.stat().st_size for p in paths)
    capacity = 4 * 1024 * 1024 + size + 2048  # room for the largest instance, not much more
    discs = build_discs(paths, tmp_path / "out", capacity_bytes=capacity, allow_split=True)
    total = len(discs)
    assert total >= 2 and [d.total for d in discs] == [total] * total
    seen: list[str] = []
    for disc in discs:
        fs = FileSet(disc.folder / "DICOMDIR")
        uids = [str(i.SOPInstanceUID) for i in fs]
        assert sorted(uids) == sorted(disc.instance_uids)
        assert all(Path(i.path).is_file() for i in fs)
        assert f"Disc {disc.number} of {total}" in (disc.folder / "README.TXT").read_text()
        seen += uids
    assert len(seen) == len(set(seen)) == 5
    assert len({d.file_set_uid for d in discs}) == total


def test_splitting_not_allowed_or_an_oversized_instance_is_refused(tmp_path: Path) -> None:
    paths = write_study(tmp_path / "in", study(3))
    size = max(p.stat().st_size for p in paths)
    with pytest.raises(PdiRefusal) as refused:
        build_discs(paths, tmp_path / "a", capacity_bytes=4 * 1024 * 1024 + size + 2048,
                    allow_split=False)  # fmt: skip
    assert refused.value.info == "SET_OVERSIZED"
    assert not (tmp_path / "a").exists()
    with pytest.raises(PdiRefusal) as refused:
        plan_discs([("1.2.3", 10_000_000)], capacity_bytes=5_000_000, allow_split=True)
    assert refused.value.info == "INST_OVERSIZED"


def test_compressed_instances_are_refused_not_recompressed(tmp_path: Path) -> None:
    path = get_testdata_file("JPEG2000.dcm")
    assert path is not None
    with pytest.raises(PdiRefusal) as refused:
        build_discs([Path(path)], tmp_path / "out", capacity_bytes=CD, allow_split=True)
    assert refused.value.info == "INST_AP_CONFLICT"
    assert [f.reason for f in refused.value.failed] == [0x0122]


def test_non_dicom_objects_go_in_ihe_pdi(tmp_path: Path) -> None:
    paths = write_study(tmp_path / "in", study(2))
    [disc] = build_discs(paths, tmp_path / "out", capacity_bytes=CD, allow_split=False,
                         non_dicom=True)  # fmt: skip
    page = (disc.folder / "IHE_PDI" / "INDEX.HTM").read_text()
    assert page.startswith("<?xml") and "xhtml" in page
    thumbs = sorted((disc.folder / "IHE_PDI").glob("*.JPG"))
    assert [t.name for t in thumbs] == ["IMG00001.JPG", "IMG00002.JPG"]
    for thumb in thumbs:
        with Image.open(thumb) as image:
            assert image.format == "JPEG" and max(image.size) <= 128
        assert f'src="{thumb.name}"' in page


def _pdf_instance(study_of: Dataset) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.SOPInstanceUID = generate_uid()
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime",
                    "StudyID"):  # fmt: skip
        setattr(ds, keyword, study_of.get(keyword, "") or "000000")
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 9
    ds.InstanceNumber = 1
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def test_reports_documents_and_rt_get_their_own_record_types(tmp_path: Path) -> None:
    images = study(1)
    sr_path, plan_path = get_testdata_file("test-SR.dcm"), get_testdata_file("rtplan.dcm")
    assert sr_path is not None and plan_path is not None
    paths = write_study(tmp_path / "in", [*images, _pdf_instance(images[0])])
    [disc] = build_discs([*paths, Path(sr_path), Path(plan_path)], tmp_path / "out",
                         capacity_bytes=CD, allow_split=False)  # fmt: skip
    records = dcmread(disc.folder / "DICOMDIR").DirectoryRecordSequence
    leaves = {r.DirectoryRecordType for r in records} - {"PATIENT", "STUDY", "SERIES"}
    assert leaves == {"IMAGE", "ENCAP DOC", "SR DOCUMENT", "RT PLAN"}
    assert all(Path(i.path).is_file() for i in FileSet(disc.folder / "DICOMDIR"))


def test_a_report_missing_a_clinical_key_is_refused_not_guessed(tmp_path: Path) -> None:
    sr_path = get_testdata_file("test-SR.dcm")
    assert sr_path is not None
    report = dcmread(sr_path)
    del report.CompletionFlag  # Type 1 in the SR DOCUMENT record (F.5.21)
    [path] = write_study(tmp_path / "in", [report])
    with pytest.raises(PdiRefusal) as refused:
        build_discs([path], tmp_path / "out", capacity_bytes=CD, allow_split=False)
    assert refused.value.info == "DIR_PROC_ERR"
    assert [f.sop_instance for f in refused.value.failed] == [str(report.SOPInstanceUID)]

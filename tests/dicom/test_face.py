"""The patient disc face's barcode (PS3.4 S.3.2.1.1.4: Barcode Value and Barcode
Symbology "may be used by the SCP to print a barcode on the label"; S.1: inability
to label is not an error). Code 128 is read back from the rendered PDF with the
labels tests' own decoder (ISO/IEC 15417 table, not reportlab's encoder)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from reportlab.lib.units import mm

from discflow.dicom import face_fields, render_face
from discflow.labels import DiscTemplate, LabelTooSmall, place_disc_barcode
from tests.labels.labels_code128 import read_barcode
from tests.labels.labels_support import pdftotext

PAGE = 120 * mm


def _first() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P-7"
    ds.StudyDate = "20261120"
    return ds


def _face(value: str, symbology: str):  # type: ignore[no-untyped-def]
    return face_fields(_first(), modalities=("MR",), number=1, total=1,
                       barcode_value=value, barcode_symbology=symbology)  # fmt: skip


def _read(pdf: bytes, value: str) -> str:
    box = place_disc_barcode(DiscTemplate(), value, "Code128")
    return read_barcode(pdf, page=0, x=box.x, y=box.y, w=box.w, h=box.h, page_h=PAGE)


@pytest.mark.parametrize("symbology", ["CODE128", "code_128", "", "NOT-A-SYMBOLOGY", "EAN13"])
def test_barcode_value_is_printed_and_reads_back(symbology: str) -> None:
    # Code 128 as asked, and Code 128 in place of an unknown symbology or one that
    # cannot encode the value (EAN-13 holds digits only)
    face = _face("ACC-20261120-7", symbology)
    assert ("BARCODE", "ACC-20261120-7") in face.fields  # for a robot's own design too
    pdf = render_face(face, order_id="ord-1")
    assert _read(pdf, "ACC-20261120-7") == "ACC-20261120-7"
    assert "DOE, Jane" in pdftotext(pdf)  # the text is still all there


def test_a_matrix_code_is_square_beside_the_hub() -> None:
    face = _face("ACC-20261120-7", "QR")
    assert face.barcode == ("ACC-20261120-7", "QR")
    box = place_disc_barcode(DiscTemplate(), "ACC-20261120-7", "QR")
    assert box.w == box.h == pytest.approx(14 * mm)
    centre = PAGE / 2
    assert box.x >= centre + (22 / 2 + 2) * mm - 1e-6  # right of the hub, clear of it
    assert render_face(face, order_id="ord-1").startswith(b"%PDF")


@pytest.mark.parametrize("value", ["Jäne-7", "A\nB", "X" * 65, ""])
def test_a_value_no_barcode_can_hold_prints_none_and_loses_nothing(value: str) -> None:
    face = _face(value, "CODE128")
    assert face.barcode is None and all(key != "BARCODE" for key, _ in face.fields)
    assert "DOE, Jane" in pdftotext(render_face(face, order_id="ord-1"))


def test_a_value_too_long_for_the_band_is_refused_and_the_face_still_renders() -> None:
    long = "ACC-" + "1234567890" * 6  # 64 characters: Code 128 needs ~90 mm
    with pytest.raises(LabelTooSmall, match="fit beside the hub"):
        place_disc_barcode(DiscTemplate(), long, "Code128")
    face = _face(long, "CODE128")
    assert face.barcode is not None
    assert "DOE, Jane" in pdftotext(render_face(face, order_id="ord-1"))

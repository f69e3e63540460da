"""The face of a patient disc: who, which study, and "disc N of M", through ``labels``.

Invariant: the label is drawn by the labels package (``DiscLayout`` +
``render_disc_pdf``) and passes its ``check_disc`` (no text past the printable
edge or into the hub); lines are shrunk from 11 pt down to 6 pt until it does.
The values come from the first instance on the disc, or from Label Text when the
request says not to extract them (Label Using Information Extracted From
Instances = NO). Barcode Value is printed beside the hub in the Barcode Symbology
asked for, in Code 128 when that one is unknown or cannot encode the value, and not
at all when neither can (S.1: inability to label is not an error).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from reportlab.lib.units import mm

from discflow.dicom._settings import DicomSettings
from discflow.labels import (
    DiscBarcode,
    DiscLabelFields,
    DiscLayout,
    DiscTemplate,
    LabelTooSmall,
    TextBox,
    check_disc,
    place_disc_barcode,
    render_disc_pdf,
    text_rect,
)

_log = logging.getLogger("discflow.dicom")
_DISC_MM = 120.0
# Barcode Symbology (2200,0006) -> reportlab's encoder. PS3.3 C.22.1.1 holds the
# Defined Terms; no public copy of that table was readable here, so the usual
# spellings of each symbology are taken (case, spaces, "-" and "_" ignored).
_SYMBOLOGIES = {
    "CODE128": "Code128",
    "CODE39": "Standard39",
    "CODE3OF9": "Standard39",
    "CODE93": "Standard93",
    "CODABAR": "Codabar",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "I2OF5": "I2of5",
    "INTERLEAVED2OF5": "I2of5",
    "ITF": "I2of5",
    "QR": "QR",
    "QRCODE": "QR",
    "DATAMATRIX": "ECC200DataMatrix",
}
_FALLBACK_SYMBOLOGY = "Code128"
_BARCODE_MAX = 64  # characters; longer values do not fit the band beside the hub


def _date(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _person(value: Any) -> str:
    # PN "Family^Given^Middle^Prefix^Suffix" -> "FAMILY, Given Middle"
    parts = [p.strip() for p in str(value or "").split("^")]
    if not parts or not parts[0]:
        return ""
    rest = " ".join(p for p in parts[1:3] if p)
    return f"{parts[0].upper()}, {rest}" if rest else parts[0].upper()


def _one_line(text: str) -> str:
    # text from outside (Label Text, instance fields): no control characters on a label
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())[:120]


@dataclass(frozen=True, slots=True)
class PatientFace:
    lines_above: tuple[str, ...]
    lines_below: tuple[str, ...]
    # the same values as named merge fields, for a robot's own label design (PTBurn
    # MergeField, TD Bridge REPLACE_FIELD): every disc of the content carries them
    fields: tuple[tuple[str, str], ...] = ()
    # (Barcode Value, reportlab symbology) to print, when the request asked for one
    barcode: tuple[str, str] | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines_above + self.lines_below)


def face_fields(
    first: Dataset,
    *,
    modalities: tuple[str, ...],
    number: int,
    total: int,
    label_text: str = "",
    extract: bool = True,
    with_viewer: bool = False,
    barcode_value: str = "",
    barcode_symbology: str = "",
) -> PatientFace:
    """The disc face's lines for one disc of a request."""
    face = _face_lines(first, modalities=modalities, number=number, total=total,
                       label_text=label_text, extract=extract, with_viewer=with_viewer)  # fmt: skip
    barcode = barcode_to_print(barcode_value, barcode_symbology)
    if barcode is None:
        return face
    fields = (*face.fields, ("BARCODE", barcode[0]))
    return PatientFace(face.lines_above, face.lines_below, fields, barcode)


def barcode_to_print(value: str, symbology: str) -> tuple[str, str] | None:
    """(value, reportlab symbology) for Barcode Value / Barcode Symbology; None when
    there is no value a barcode can hold (printable ASCII, up to 64 characters)."""
    value = value.strip()
    if not value or len(value) > _BARCODE_MAX or not all(32 <= ord(ch) < 127 for ch in value):
        return None
    key = re.sub(r"[\s_-]", "", symbology).upper()
    return value, _SYMBOLOGIES.get(key, _FALLBACK_SYMBOLOGY)


def _face_lines(
    first: Dataset,
    *,
    modalities: tuple[str, ...],
    number: int,
    total: int,
    label_text: str,
    extract: bool,
    with_viewer: bool,
) -> PatientFace:
    content = "DICOM + viewer" if with_viewer else "DICOM ONLY"
    disc = f"disc {number} of {total}"
    disc_fields = (("DISC", f"{number} of {total}"), ("DISC_CONTENT", content))
    if not extract:
        given = [_one_line(line) for line in label_text.splitlines() if line.strip()][:5]
        fields = tuple((f"LABEL{n}", line) for n, line in enumerate(given, start=1))
        return PatientFace(
            tuple(given[:2]), (*given[2:], f"{content} - {disc}"), (*fields, *disc_fields)
        )
    patient = _one_line(_person(first.get("PatientName")))
    patient_id = _one_line(str(first.get("PatientID", "")))
    born = _one_line(_date(first.get("PatientBirthDate")))
    study_date = _one_line(_date(first.get("StudyDate")))
    study = _one_line(str(first.get("StudyDescription", "")))
    institution = _one_line(str(first.get("InstitutionName", "")))
    extra = _one_line(label_text) if label_text.strip() else ""
    born_text = f"  born {born}" if born else ""  # no "born" without a birth date
    above = [patient, _one_line(f"ID {patient_id}{born_text}")]
    below = [_one_line(f"{study_date}  {' '.join(modalities)}"), study, institution]
    if extra:
        below.append(extra)
    below.append(f"{content} - {disc}")
    fields = (
        ("PATIENT", patient),
        ("PATIENT_ID", patient_id),
        ("BIRTH_DATE", born),
        ("STUDY_DATE", study_date),
        ("MODALITIES", _one_line(" ".join(modalities))),
        ("STUDY", study),
        ("INSTITUTION", institution),
        ("LABEL_TEXT", extra),
        *disc_fields,
    )
    return PatientFace(tuple(x for x in above if x), tuple(x for x in below if x), fields)


def _place(lines: tuple[str, ...], *, top: float, size: float, bold_first: bool) -> list[TextBox]:
    centre = _DISC_MM * mm / 2
    boxes = []
    for index, line in enumerate(lines):
        bold = bold_first and index == 0
        width = text_rect(TextBox(line, 0.0, 0.0, size, bold)).w
        baseline = top - (index + 1) * size * 1.2
        boxes.append(TextBox(line, centre - width / 2, baseline, size, bold))
    return boxes


def face_pdf_path(data_dir: Path, content_id: str) -> Path | None:
    """The rendered face of a patient disc content, if it is one (for the robot's label)."""
    path = DicomSettings().faces_dir(data_dir) / f"{content_id}.pdf"
    return path if path.is_file() else None


def render_face(face: PatientFace, *, order_id: str, template: DiscTemplate | None = None) -> bytes:
    """The disc face as PDF (120 mm square), through the labels package."""
    template = template or DiscTemplate()
    centre = _DISC_MM * mm / 2
    hub = template.hole_mm * mm / 2 + template.gap_mm * mm
    fields = DiscLabelFields(
        title="Patient disc",
        order_id=order_id,
        customer="",
        copy_number=1,
        copy_total=1,
        date=datetime.now(UTC).date().isoformat(),
    )
    barcode = _placed_barcode(face, template)
    for size in (11.0, 10.0, 9.0, 8.0, 7.0, 6.0):
        above_height = len(face.lines_above) * size * 1.2
        texts = _place(face.lines_above, top=centre + hub + above_height + 2, size=size,
                       bold_first=True)  # fmt: skip
        texts += _place(face.lines_below, top=centre - hub, size=size, bold_first=False)
        layout = DiscLayout(template, fields, tuple(texts), barcode)
        if not check_disc(layout):
            return render_disc_pdf(layout)
    raise LabelTooSmall("the patient disc label does not fit the disc even at 6 pt")


def _placed_barcode(face: PatientFace, template: DiscTemplate) -> DiscBarcode | None:
    if face.barcode is None:
        return None
    value, symbology = face.barcode
    for choice in dict.fromkeys((symbology, _FALLBACK_SYMBOLOGY)):
        try:
            return place_disc_barcode(template, value, choice)
        except LabelTooSmall:  # its message holds the value: maybe a patient ID, never logged
            _log.info("barcode not printed as %s (%d characters)", choice, len(value))
    return None

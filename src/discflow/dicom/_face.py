"""The face of a patient disc: who, which study, and "disc N of M", through ``labels``.

Invariant: the label is drawn by the labels package (``DiscLayout`` +
``render_disc_pdf``) and passes its ``check_disc`` (no text past the printable
edge or into the hub); lines are shrunk from 11 pt down to 6 pt until it does.
The values come from the first instance on the disc, or from Label Text when the
request says not to extract them (Label Using Information Extracted From
Instances = NO).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from reportlab.lib.units import mm

from discflow.dicom._settings import DicomSettings
from discflow.labels import (
    DiscLabelFields,
    DiscLayout,
    DiscTemplate,
    LabelTooSmall,
    TextBox,
    check_disc,
    render_disc_pdf,
    text_rect,
)

_DISC_MM = 120.0


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
) -> PatientFace:
    """The disc face's lines for one disc of a request."""
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
    above = [patient, _one_line(f"ID {patient_id}  born {born}")]
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
    for size in (11.0, 10.0, 9.0, 8.0, 7.0, 6.0):
        above_height = len(face.lines_above) * size * 1.2
        texts = _place(face.lines_above, top=centre + hub + above_height + 2, size=size,
                       bold_first=True)  # fmt: skip
        texts += _place(face.lines_below, top=centre - hub, size=size, bold_first=False)
        layout = DiscLayout(template, fields, tuple(texts))
        if not check_disc(layout):
            return render_disc_pdf(layout)
    raise LabelTooSmall("the patient disc label does not fit the disc even at 6 pt")

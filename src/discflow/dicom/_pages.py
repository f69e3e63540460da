"""README.TXT, INDEX.HTM and IHE_PDI/INDEX.HTM of a patient disc (IHE RAD TF-3 4.47.4.1).

Invariant: every value taken from an instance is HTML-escaped; README.TXT is plain
ASCII and names no patient (it is read by anyone holding the disc case open).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset

if TYPE_CHECKING:
    from discflow.dicom._pdi import DiscTree


def _plain(value: Any) -> str:
    return html.escape(str(value if value is not None else ""))


def readme_txt(tree: DiscTree, *, note: str = "") -> str:
    derived = "\n".join(f"  - {line}" for line in tree.derived) or "  (none)"
    lines = [
        "DICOM MEDIA - IHE Portable Data for Imaging (PDI)",
        "",
        f"Disc {tree.number} of {tree.total}. File-set ID {tree.file_set_id},",
        f"File-set UID {tree.file_set_uid}.",
        "",
        "This disc holds medical images in DICOM format (PS3.10), Media Application",
        "Profile STD-GEN-CD / STD-GEN-DVD: the DICOMDIR file at the top lists every",
        "image, the images are in the DICOM folder. It contains no viewer (DICOM ONLY):",
        "open DICOMDIR with any DICOM viewer, or INDEX.HTM with a web browser to see",
        "what is on the disc.",
        "",
        "Written by discflow (https://github.com/discflow). Each instance is stored",
        "as it was received, in Explicit VR Little Endian, without lossy compression.",
        "",
        "Directory keys derived because an instance lacked them (PS3.3 Annex F):",
        derived,
    ]
    if note:
        lines += ["", note]
    text = "\r\n".join(lines) + "\r\n"
    return text.encode("ascii", "replace").decode("ascii")


def _rows(members: Sequence[Dataset], thumbs: dict[str, str] | None = None) -> list[str]:
    rows = []
    for ds in members:
        thumb = ""
        if thumbs is not None:
            name = thumbs.get(str(ds.SOPInstanceUID))
            thumb = f'<td><img src="{name}" alt="image" /></td>' if name else "<td></td>"
        rows.append(
            "<tr>"
            + thumb
            + "".join(
                f"<td>{_plain(ds.get(k, ''))}</td>"
                for k in (
                    "PatientName",
                    "PatientID",
                    "StudyDate",
                    "StudyDescription",
                    "Modality",
                    "SeriesNumber",
                    "InstanceNumber",
                )  # fmt: skip
            )
            + "</tr>"
        )
    return rows


def index_htm(members: Sequence[Dataset], tree: DiscTree) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Patient", "Patient ID", "Study date", "Study", "Modality", "Series", "Image")
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>DICOM disc</title></head>'
        f"<body><h1>DICOM disc {tree.number} of {tree.total}</h1>"
        "<p>DICOM ONLY: open DICOMDIR with a DICOM viewer. See README.TXT.</p>"
        f"<table><tr>{head}</tr>{''.join(_rows(members))}</table></body></html>\n"
    )


def pdi_xhtml(members: Sequence[Dataset], tree: DiscTree, thumbs: dict[str, str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>IHE PDI</title></head>'
        f"<body><h1>Disc {tree.number} of {tree.total}</h1><table>"
        f"{''.join(_rows(members, thumbs))}</table></body></html>\n"
    )

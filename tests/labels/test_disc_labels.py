"""Disc-face labels: geometry, merge fields, PDF and PNG output (the robots' job-file
keys for merge fields are the drivers' own: tests/agent/test_ptburn.py, test_faces.py)."""

from __future__ import annotations

import struct

import pytest

from discflow.labels import (
    DiscLabelFields,
    DiscTemplate,
    LabelInputError,
    check_disc,
    layout_disc,
    render_disc_pdf,
    render_disc_png,
)
from tests.labels.labels_support import pdfinfo, pdftotext

FIELDS = DiscLabelFields(
    title="Annual Report 2026 — Board Meeting Recordings and Minutes",
    order_id="ORD-42",
    customer="Иван Петров",
    copy_number=3,
    copy_total=10,
    date="2026-11-25",
)


@pytest.mark.parametrize("hole", [15.0, 22.0, 40.0])
def test_text_stays_on_the_printable_ring(hole: float) -> None:
    layout = layout_disc(FIELDS, DiscTemplate(hole_mm=hole))
    assert check_disc(layout) == []
    shown = " ".join(t.text for t in layout.texts)
    assert "Copy 3 of 10" in shown and "Order ORD-42" in shown and "2026-11-25" in shown


def test_checker_catches_text_in_the_hole() -> None:
    layout = layout_disc(FIELDS, DiscTemplate(hole_mm=15))
    bigger_hub = DiscTemplate(hole_mm=40)
    moved = type(layout)(bigger_hub, layout.fields, layout.texts)
    assert any("hole" in p for p in check_disc(moved))


def test_hole_outside_15_to_40_mm_is_refused() -> None:
    with pytest.raises(LabelInputError, match="15-40 mm"):
        DiscTemplate(hole_mm=45)
    with pytest.raises(LabelInputError, match="copy 11 of 10"):
        DiscLabelFields("T", "O-1", "C", 11, 10, "2026-01-01")


def test_pdf_is_a_120_mm_page_with_the_merge_fields() -> None:
    pdf = render_disc_pdf(layout_disc(FIELDS))
    w, _, h = pdfinfo(pdf)["Page size"].split()[:3]
    assert float(w) == float(h) == pytest.approx(120 / 25.4 * 72, abs=0.01)  # 120 mm
    text = " ".join(pdftotext(pdf).split())
    for value in (FIELDS.title, FIELDS.customer, "Copy 3 of 10", "Order ORD-42", FIELDS.date):
        assert value in text


def test_png_preview_is_the_rasterised_disc() -> None:
    png = render_disc_png(layout_disc(FIELDS), dpi=100)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == height
    assert abs(width - 120 / 25.4 * 100) <= 1

"""Mailing-label sheets: geometry, overflow, text read back, fonts, barcodes."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from discflow.domain import Address
from discflow.labels import (
    SHEETS,
    LabelInputError,
    LabelItem,
    LabelTooSmall,
    check_layout,
    format_address,
    layout_sheet,
    render_layout,
    render_sheet,
    sheet_spec,
)
from tests.labels.labels_code128 import read_barcode
from tests.labels.labels_support import STREET_60, pdf_words, pdfinfo, pdftotext, world_items

INCH = 72.0
MM = 72 / 25.4


def test_avery_5160_geometry_is_avery_s() -> None:
    spec = sheet_spec("avery-5160")
    assert (spec.page_w, spec.page_h) == (8.5 * INCH, 11 * INCH)
    assert spec.per_page == 30
    first, last = spec.label_rect(0), spec.label_rect(29)
    assert (first.x, first.top) == pytest.approx((3 / 16 * INCH, 10.5 * INCH))
    assert (first.w, first.h) == pytest.approx((2.625 * INCH, 1.0 * INCH))
    assert last.right == pytest.approx(8.5 * INCH - 3 / 16 * INCH)
    assert last.y == pytest.approx(0.5 * INCH)
    assert spec.label_rect(30) == first  # the 31st label starts the next page at the top


def test_avery_l7160_geometry_fills_a4_symmetrically() -> None:
    spec = sheet_spec("avery-l7160")
    assert (spec.page_w, spec.page_h) == pytest.approx((210 * MM, 297 * MM))
    assert spec.per_page == 21
    first, last = spec.label_rect(0), spec.label_rect(20)
    assert (first.w, first.h) == pytest.approx((63.5 * MM, 38.1 * MM))
    assert first.x == pytest.approx(spec.page_w - last.right, abs=0.1)
    assert spec.page_h - first.top == pytest.approx(last.y, abs=0.1)


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_world_addresses_never_overflow(sheet: str) -> None:
    layout = layout_sheet(world_items(), sheet=sheet)
    assert check_layout(layout) == []
    assert layout.pages == -(-10 // sheet_spec(sheet).per_page)


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_pdf_text_reads_back_and_stays_inside_each_label(sheet: str) -> None:
    items = world_items()
    pdf = render_sheet(items, sheet=sheet, fmt="pdf")
    spec = sheet_spec(sheet)
    info = pdfinfo(pdf)
    assert info["Pages"] == str(-(-len(items) // spec.per_page))
    assert info["Page size"].startswith(f"{spec.page_w:g} x {spec.page_h:g} pts")
    text = pdftotext(pdf)
    words = pdf_words(pdf)
    layout = layout_sheet(items, sheet=sheet)
    for item, label in zip(items, layout.labels, strict=True):
        for line in format_address(item.ship_to):
            if len(line) < 40:  # long lines may be wrapped; their words are checked below
                assert line in text, f"{line!r} missing from the PDF text"
        assert f"Order {item.order_id}" in text
        assert f"Request {item.request_id}" in text
        # Independent check with poppler's own glyph boxes: every word on this label's
        # area lies within the label (y flipped: poppler measures from the top).
        b = label.bounds
        top = spec.page_h - b.top
        mine = [
            w for w in words
            if w.page == label.page and b.x <= (w.x0 + w.x1) / 2 <= b.right
            and top <= (w.y0 + w.y1) / 2 <= top + b.h
        ]  # fmt: skip
        assert mine, f"no text found on label of {item.request_id}"
        for w in mine:
            assert b.x - 0.5 <= w.x0 and w.x1 <= b.right + 0.5, (w, b)
            assert top - 0.5 <= w.y0 and w.y1 <= top + b.h + 0.5, (w, b)


def test_sixty_character_street_is_printed_whole() -> None:
    pdf = render_sheet(world_items()[:1], sheet="avery-5160", fmt="pdf")
    flat = " ".join(pdftotext(pdf).split())
    assert STREET_60 in flat


def test_fonts_are_embedded_subsets_covering_every_script() -> None:
    pdf = render_sheet(world_items(), sheet="avery-l7160", fmt="pdf")
    out = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True)
    rows = out.stdout.decode().splitlines()[2:]
    assert rows, "no fonts in the PDF"
    for row in rows:
        assert " yes yes " in row, f"font not embedded as a subset: {row}"
    text = pdftotext(pdf)
    for sample in ("Иван Петров", "МОСКВА", "山田太郎", "〒100-0001", "Jürgen Groß", "São Paulo"):
        assert sample in text or sample.upper() in text


@pytest.mark.parametrize("sheet", ["avery-5160", "4x6"])
def test_barcode_scans_back_to_order_and_request(sheet: str) -> None:
    items = world_items()[:3]
    pdf = render_sheet(items, sheet=sheet, fmt="pdf")
    layout = layout_sheet(items, sheet=sheet)
    for item, label in zip(items, layout.labels, strict=True):
        bc = label.barcode
        value = read_barcode(
            pdf, page=label.page, x=label.bounds.x, y=bc.y, w=label.bounds.w,
            h=bc.height, page_h=layout.spec.page_h,
        )  # fmt: skip
        assert value == f"{item.order_id}/{item.request_id}"


def test_long_ids_fall_back_to_the_request_id_barcode() -> None:
    address = Address("Jane Doe", ("1 Main St",), "Town", "12345", "US", "CA")
    item = LabelItem(address, order_id="ORDER-" + "7" * 30, request_id="REQ-2026-11-25-000001")
    layout = layout_sheet([item], sheet="avery-5160")
    assert layout.labels[0].barcode.value == item.request_id
    assert check_layout(layout) == []


def test_address_too_long_for_a_small_label_is_refused_not_clipped() -> None:
    long = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessenschafe"
    address = Address(
        long, (long, long, long, long), long, "12345", "DE", long
    )  # every field at its longest
    item = LabelItem(address, order_id="O-1", request_id="R-1")
    with pytest.raises(LabelTooSmall, match="R-1"):
        render_sheet([item], sheet="avery-5160")
    assert render_sheet([item], sheet="4x6")[:5] == b"%PDF-"  # the big label takes it


def test_script_without_a_shipped_font_is_refused_with_advice() -> None:
    address = Address("김민수", ("세종대로 110",), "서울", "04524", "KR")
    with pytest.raises(LabelInputError, match="Latin, Cyrillic, Greek or Japanese"):
        render_sheet([LabelItem(address, "O-1", "R-1")], sheet="4x6")


def test_bad_ids_and_sheets_are_refused() -> None:
    address = Address("Jane", ("1 Main St",), "Town", "1", "US")
    with pytest.raises(LabelInputError, match="order id"):
        LabelItem(address, order_id="has space", request_id="R-1")
    with pytest.raises(LabelInputError, match="unknown label sheet"):
        render_sheet([LabelItem(address, "O-1", "R-1")], sheet="avery-9999")
    with pytest.raises(LabelInputError, match="only made for 4x6"):
        render_sheet([LabelItem(address, "O-1", "R-1")], sheet="avery-5160", fmt="zpl")


def test_overflow_checker_catches_text_and_barcodes_past_the_edge() -> None:
    layout = layout_sheet(world_items()[:2], sheet="avery-5160")
    label = layout.labels[0]
    wide = dataclasses.replace(label.texts[1], text=STREET_60 * 2)
    moved_bar = dataclasses.replace(label.barcode, y=label.barcode.y - 6)  # pad is 4 pt
    broken = dataclasses.replace(
        layout,
        labels=(dataclasses.replace(label, texts=(label.texts[0], wide), barcode=moved_bar),
                layout.labels[1]),
    )  # fmt: skip
    problems = check_layout(broken)
    assert {p.label for p in problems} == {0}
    assert any(STREET_60 in p.what for p in problems)
    assert any("barcode" in p.what for p in problems)
    assert "leaves its label" in str(problems[0])
    with pytest.raises(LabelTooSmall, match="outside their edges"):
        render_layout(broken)

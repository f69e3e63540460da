"""Sheet geometry: label stock sizes and where each label sits on the page.

Invariant: all lengths are PDF points (1/72 in) with the origin at the page's
bottom-left corner, as reportlab draws. Label positions are computed from the
stock's published pitch and margins, never accumulated, so rounding cannot drift
down a sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch, mm

__all__ = ["SHEETS", "Rect", "SheetName", "SheetSpec", "sheet_spec"]

SheetName = Literal["avery-5160", "avery-l7160", "4x6"]


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w

    def contains(self, other: Rect, *, tolerance: float = 0.01) -> bool:
        return (
            other.x >= self.x - tolerance
            and other.y >= self.y - tolerance
            and other.right <= self.right + tolerance
            and other.top <= self.top + tolerance
        )

    def overlaps(self, other: Rect) -> bool:
        return not (
            other.x >= self.right
            or other.right <= self.x
            or other.y >= self.top
            or other.top <= self.y
        )


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """A label stock and the typography that suits its label size."""

    name: SheetName
    page_w: float
    page_h: float
    cols: int
    rows: int
    label_w: float
    label_h: float
    left: float  # page edge to the first column's left edge
    top: float  # page edge to the first row's top edge
    pitch_x: float  # left edge to left edge of neighbouring columns
    pitch_y: float
    pad_x: float  # keep-out inside each label (die-cut tolerance, rounded corners)
    pad_y: float
    address_max: float  # address font sizes, shrunk from max down to min
    address_min: float
    small_size: float  # ids and contents line
    barcode_h: float
    barcode_max_bar: float  # widest Code 128 module (points)
    cups_media: str  # the CUPS ``media`` option for this stock

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def label_rect(self, slot: int) -> Rect:
        """Rectangle of label ``slot`` (0-based, row by row from the top-left)."""
        row, col = divmod(slot % self.per_page, self.cols)
        x = self.left + col * self.pitch_x
        top = self.page_h - self.top - row * self.pitch_y
        return Rect(x, top - self.label_h, self.label_w, self.label_h)


SHEETS: dict[str, SheetSpec] = {
    # Avery 5160 / 8160 "Address Labels": US Letter, 1" x 2-5/8", 3 x 10, top margin 0.5",
    # side margin 3/16", 1/8" between columns, rows touching.
    "avery-5160": SheetSpec(
        name="avery-5160", page_w=LETTER[0], page_h=LETTER[1], cols=3, rows=10,
        label_w=2.625 * inch, label_h=1.0 * inch, left=0.1875 * inch, top=0.5 * inch,
        pitch_x=2.75 * inch, pitch_y=1.0 * inch, pad_x=6, pad_y=4,
        address_max=10, address_min=5, small_size=5.5, barcode_h=10,
        barcode_max_bar=1.0, cups_media="Letter",
    ),
    # Avery L7160: A4, 63.5 x 38.1 mm, 3 x 7, top margin 15.15 mm, side margin 7.21 mm,
    # 2.54 mm between columns, rows touching.
    "avery-l7160": SheetSpec(
        name="avery-l7160", page_w=A4[0], page_h=A4[1], cols=3, rows=7,
        label_w=63.5 * mm, label_h=38.1 * mm, left=7.21 * mm, top=15.15 * mm,
        pitch_x=66.04 * mm, pitch_y=38.1 * mm, pad_x=7, pad_y=5,
        address_max=11, address_min=5.5, small_size=6, barcode_h=14,
        barcode_max_bar=1.0, cups_media="A4",
    ),
    # 4 x 6 in direct-thermal shipping label, one per page.
    "4x6": SheetSpec(
        name="4x6", page_w=4 * inch, page_h=6 * inch, cols=1, rows=1,
        label_w=4 * inch, label_h=6 * inch, left=0, top=0,
        pitch_x=4 * inch, pitch_y=6 * inch, pad_x=14, pad_y=14,
        address_max=20, address_min=8, small_size=10, barcode_h=64,
        barcode_max_bar=2.0, cups_media="w288h432",
    ),
}  # fmt: skip


def sheet_spec(name: str) -> SheetSpec:
    from discflow.labels._errors import LabelInputError

    try:
        return SHEETS[name]
    except KeyError:
        raise LabelInputError(
            f"unknown label sheet {name!r}: choose one of {', '.join(SHEETS)}"
        ) from None

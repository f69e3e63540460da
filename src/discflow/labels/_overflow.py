"""Overflow checking: is every drawn thing inside its label?

Invariant: the checker measures again from the text itself (reportlab's
``stringWidth`` over the shipped font chain, the fonts' ascent and descent) and
from the barcode's own symbol width; it trusts nothing the layout computed except
positions. A layout is good when ``check_layout`` returns no problems.
"""

from __future__ import annotations

from dataclasses import dataclass

from discflow.labels._fonts import ascent_descent, text_width
from discflow.labels._geometry import Rect
from discflow.labels._layout import (
    QUIET_MODULES,
    BarcodeBox,
    SheetLayout,
    TextBox,
    barcode_modules,
)

__all__ = ["Overflow", "barcode_rect", "check_layout", "text_rect"]


@dataclass(frozen=True, slots=True)
class Overflow:
    label: int  # index of the label in the sheet
    what: str
    box: Rect
    bounds: Rect

    def __str__(self) -> str:
        b = self.box
        return (
            f"label {self.label}: {self.what!r} at ({b.x:.1f},{b.y:.1f})-"
            f"({b.right:.1f},{b.top:.1f})"
            f" leaves its label ({self.bounds.x:.1f},{self.bounds.y:.1f})-"
            f"({self.bounds.right:.1f},{self.bounds.top:.1f})"
        )


def text_rect(box: TextBox) -> Rect:
    """The ink box of a line: its advance width, from descent to ascent."""
    ascent, descent = ascent_descent(box.size)
    width = text_width(box.text, box.size, bold=box.bold)
    return Rect(box.x, box.baseline + descent, width, ascent - descent)


def barcode_rect(box: BarcodeBox, *, quiet: bool = True) -> Rect:
    """The symbol's box, by default including its quiet zones."""
    width = barcode_modules(box.value) * box.bar_width
    margin = QUIET_MODULES * box.bar_width if quiet else 0.0
    return Rect(box.x - margin, box.y, width + 2 * margin, box.height)


def check_layout(layout: SheetLayout) -> list[Overflow]:
    """Every text line and barcode outside its label, or overlapping another element."""
    problems: list[Overflow] = []
    for index, label in enumerate(layout.labels):
        page = Rect(0, 0, layout.spec.page_w, layout.spec.page_h)
        if not page.contains(label.bounds):
            problems.append(Overflow(index, "label", label.bounds, page))
        boxes = [(t.text, text_rect(t)) for t in label.texts]
        boxes.append((f"barcode {label.barcode.value}", barcode_rect(label.barcode)))
        for what, rect in boxes:
            if not label.bounds.contains(rect):
                problems.append(Overflow(index, what, rect, label.bounds))
        bar = barcode_rect(label.barcode)
        for what, rect in boxes[:-1]:
            if rect.overlaps(bar):
                problems.append(Overflow(index, f"{what} overlaps the barcode", rect, bar))
    return problems

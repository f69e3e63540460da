"""Mailing label layout: where every line of text and every barcode goes.

Invariant: a layout is computed once and then drawn as-is by both the PDF and the
ZPL renderers, and checked by ``check_layout``; nothing is placed that was not
measured. Each label holds, top to bottom: the address block (name in bold), an
optional contents line, the ids line "Order … · Request …", and a Code 128 barcode
of "ORDER/REQUEST" (or of the request id alone when both do not fit at the
narrowest printable bar width), with ten-module quiet zones on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128

from discflow.labels._address import format_address
from discflow.labels._errors import LabelInputError, LabelTooSmall
from discflow.labels._fonts import ascent_descent, missing_glyphs
from discflow.labels._geometry import Rect, SheetSpec, sheet_spec
from discflow.labels._items import LabelItem
from discflow.labels._text import LEADING, fit_block, fit_line

__all__ = [
    "BarcodeBox",
    "LabelLayout",
    "SheetLayout",
    "TextBox",
    "barcode_modules",
    "layout_sheet",
]

MIN_BAR = 0.5  # points: about 7 mil, still read by ordinary laser-printed label scanners
QUIET_MODULES = 10
_GAP = 1.5  # points between the blocks of a label


@dataclass(frozen=True, slots=True)
class TextBox:
    """One line of text drawn with its baseline at (x, baseline)."""

    text: str
    x: float
    baseline: float
    size: float
    bold: bool = False


@dataclass(frozen=True, slots=True)
class BarcodeBox:
    """A Code 128 symbol; ``x`` is where the bars start (after the left quiet zone)."""

    value: str
    x: float
    y: float
    bar_width: float
    height: float


@dataclass(frozen=True, slots=True)
class LabelLayout:
    item: LabelItem
    page: int
    bounds: Rect
    address: tuple[str, ...]
    texts: tuple[TextBox, ...]
    barcode: BarcodeBox


@dataclass(frozen=True, slots=True)
class SheetLayout:
    spec: SheetSpec
    pages: int
    labels: tuple[LabelLayout, ...]


def barcode_modules(value: str) -> float:
    """Width of ``value``'s Code 128 symbol in modules (bars only, no quiet zones)."""
    return float(Code128(value, barWidth=1, quiet=0, humanReadable=0).width)


def _barcode(item: LabelItem, width: float, max_bar: float) -> tuple[str, float]:
    for value in (f"{item.order_id}/{item.request_id}", item.request_id):
        modules = barcode_modules(value) + 2 * QUIET_MODULES
        bar = min(max_bar, width / modules)
        if bar >= MIN_BAR:
            return value, bar
    raise LabelTooSmall(
        f"request id {item.request_id!r} is too long for a readable barcode on this label:"
        " use the 4x6 stock or shorter ids"
    )


def _layout_label(item: LabelItem, spec: SheetSpec, slot: int, sender_country: str) -> LabelLayout:
    bounds = spec.label_rect(slot)
    inner = Rect(
        bounds.x + spec.pad_x,
        bounds.y + spec.pad_y,
        bounds.w - 2 * spec.pad_x,
        bounds.h - 2 * spec.pad_y,
    )
    lines = format_address(item.ship_to, sender_country=sender_country)
    missing = missing_glyphs(" ".join(lines))
    if missing:
        raise LabelInputError(
            f"the address of request {item.request_id} has characters no shipped font can"
            f" draw ({missing}): write it in Latin, Cyrillic, Greek or Japanese script"
        )
    small: list[TextBox] = []

    # Bottom up: barcode, ids line, contents line; the address takes what is left.
    value, bar = _barcode(item, inner.w, spec.barcode_max_bar)
    width = barcode_modules(value) * bar
    barcode = BarcodeBox(value, inner.x + (inner.w - width) / 2, inner.y, bar, spec.barcode_h)
    cursor = inner.y + spec.barcode_h + _GAP

    small_lines = [f"Order {item.order_id} · Request {item.request_id}"]
    contents = " · ".join(x for x in (item.title, item.copies) if x)
    if contents:
        small_lines.insert(0, contents)
    for text in reversed(small_lines):
        size, shown = fit_line(
            text, width=inner.w, max_size=spec.small_size, min_size=spec.small_size * 0.7
        )
        ascent, descent = ascent_descent(size)
        small.append(TextBox(shown, inner.x, cursor - descent, size))
        cursor += ascent - descent + 0.5

    box_h = inner.top - cursor - _GAP
    fitted = fit_block(
        lines,
        width=inner.w,
        height=box_h,
        max_size=spec.address_max,
        min_size=spec.address_min,
        bold_first=True,
        # Shrink to 70 % of the largest size; below that, wrapping reads better.
        shrink_floor=spec.address_max * 0.7,
        what=f"the address of request {item.request_id}",
    )
    ascent, _ = ascent_descent(fitted.size)
    texts: list[TextBox] = []
    for i, line in enumerate(fitted.lines):
        baseline = inner.top - ascent - i * fitted.size * LEADING
        texts.append(TextBox(line, inner.x, baseline, fitted.size, bold=i < fitted.bold_count))
    return LabelLayout(
        item=item,
        page=slot // spec.per_page,
        bounds=bounds,
        address=lines,
        texts=(*texts, *reversed(small)),  # reading order, top to bottom
        barcode=barcode,
    )


def layout_sheet(
    items: Sequence[LabelItem], *, sheet: str, sender_country: str = "US"
) -> SheetLayout:
    """Place ``items`` on as many pages of ``sheet`` stock as they need, in order."""
    if not items:
        raise LabelInputError("no labels to render: give at least one address")
    spec = sheet_spec(sheet)
    labels = tuple(_layout_label(item, spec, i, sender_country) for i, item in enumerate(items))
    pages = (len(items) + spec.per_page - 1) // spec.per_page
    return SheetLayout(spec=spec, pages=pages, labels=labels)

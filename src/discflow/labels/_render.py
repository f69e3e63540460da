"""The one entry point that turns label items into printable bytes.

Invariant: every document is laid out, then checked by ``check_layout``, and only
then rendered; a layout with any overflow raises ``LabelTooSmall`` instead of
producing a label that prints past its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from discflow.labels._errors import LabelInputError, LabelTooSmall
from discflow.labels._items import LabelItem
from discflow.labels._layout import SheetLayout, layout_sheet
from discflow.labels._overflow import check_layout
from discflow.labels._pdf import render_pdf
from discflow.labels._zpl import DEFAULT_UNICODE_FONT, render_zpl

__all__ = ["LabelFormat", "render_layout", "render_sheet"]

LabelFormat = Literal["pdf", "zpl"]


def render_layout(
    layout: SheetLayout,
    *,
    fmt: str = "pdf",
    outlines: bool = False,
    zpl_dpi: int = 203,
    zpl_unicode_font: str = DEFAULT_UNICODE_FONT,
) -> bytes:
    problems = check_layout(layout)
    if problems:
        raise LabelTooSmall(
            "labels would print outside their edges: " + "; ".join(map(str, problems[:3]))
        )
    if fmt == "pdf":
        return render_pdf(layout, outlines=outlines)
    if fmt == "zpl":
        return render_zpl(layout, dpi=zpl_dpi, unicode_font=zpl_unicode_font)
    raise LabelInputError(f"unknown label format {fmt!r}: choose pdf or zpl")


def render_sheet(
    items: Sequence[LabelItem],
    *,
    sheet: str,
    fmt: str = "pdf",
    sender_country: str = "US",
    outlines: bool = False,
    zpl_dpi: int = 203,
    zpl_unicode_font: str = DEFAULT_UNICODE_FONT,
) -> bytes:
    """Mailing labels for ``items``, in order, on ``sheet`` stock as ``fmt`` bytes.

    ``sheet`` is ``avery-5160`` (US Letter, 30 per page), ``avery-l7160`` (A4, 21 per
    page) or ``4x6`` (thermal, one per page; the only stock for ``fmt="zpl"``).
    ``sender_country`` (ISO code) decides when a country line is printed.
    """
    if fmt == "zpl" and sheet != "4x6":
        raise LabelInputError(
            f"ZPL is only made for 4x6 thermal labels, not {sheet}: use --format pdf"
        )
    layout = layout_sheet(items, sheet=sheet, sender_country=sender_country)
    return render_layout(
        layout, fmt=fmt, outlines=outlines, zpl_dpi=zpl_dpi, zpl_unicode_font=zpl_unicode_font
    )

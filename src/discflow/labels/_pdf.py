"""Drawing a mailing-label layout as PDF with reportlab.

Invariant: the PDF draws exactly the layout's text boxes and barcodes (nothing is
re-measured or moved here), with the shipped fonts embedded, so what
``check_layout`` approved is what prints and what ``pdftotext`` reads back.
"""

from __future__ import annotations

import io

from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas

from discflow.labels._fonts import SANS, register_fonts, runs
from discflow.labels._layout import LabelLayout, SheetLayout, TextBox

__all__ = ["draw_text", "render_pdf"]


def draw_text(canvas: Canvas, box: TextBox) -> None:
    """Draw one line run by run, each run in the font that has its glyphs."""
    x = box.x
    for run in runs(box.text, bold=box.bold):
        canvas.setFont(run.font, box.size)
        canvas.drawString(x, box.baseline, run.text)
        x += canvas.stringWidth(run.text, run.font, box.size)


def _draw_label(canvas: Canvas, label: LabelLayout, *, outlines: bool) -> None:
    if outlines:
        b = label.bounds
        canvas.saveState()
        canvas.setStrokeGray(0.75)
        canvas.setLineWidth(0.3)
        canvas.roundRect(b.x, b.y, b.w, b.h, radius=min(6.0, b.h / 8))
        canvas.restoreState()
    for box in label.texts:
        draw_text(canvas, box)
    bc = label.barcode
    symbol = Code128(bc.value, barWidth=bc.bar_width, barHeight=bc.height, quiet=0, humanReadable=0)
    symbol.drawOn(canvas, bc.x, bc.y)


def render_pdf(layout: SheetLayout, *, outlines: bool = False, title: str = "") -> bytes:
    """The whole layout as one PDF; ``outlines`` draws the die-cut edges for previews."""
    out = io.BytesIO()
    spec = layout.spec
    register_fonts()
    # Start in a shipped font: the default (Helvetica) would be an unembedded reference.
    canvas = Canvas(
        out, pagesize=(spec.page_w, spec.page_h), pageCompression=1, initialFontName=SANS
    )
    canvas.setTitle(title or f"discflow labels ({spec.name})")
    canvas.setCreator("discflow")
    for page in range(layout.pages):
        for label in layout.labels:
            if label.page == page:
                _draw_label(canvas, label, outlines=outlines)
        canvas.showPage()
    canvas.save()
    return out.getvalue()

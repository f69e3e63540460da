"""Disc-face labels: a 120 mm disc with merge fields, as PDF and PNG.

Invariant: text lives in two rectangles inscribed in the printable ring, one above
and one below the centre hole; each rectangle's far corners lie on the printable
circle and its near edge clears the hole by ``gap_mm``, so fitted text (shrink,
then wrap) can touch neither the disc edge nor the hub. ``check_disc`` verifies
that again from the drawn boxes. The PNG is the PDF rasterised by poppler's
``pdftoppm``, so the preview an operator sees is the very file sent to the robot.
"""

from __future__ import annotations

import functools
import math
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from discflow.errors import LabelError
from discflow.labels._errors import LabelInputError
from discflow.labels._fonts import SANS, ascent_descent, register_fonts, text_width
from discflow.labels._geometry import Rect
from discflow.labels._items import DiscLabelFields
from discflow.labels._layout import TextBox
from discflow.labels._overflow import text_rect
from discflow.labels._pdf import draw_text
from discflow.labels._text import LEADING, block_height, fit_block

__all__ = ["DiscLayout", "DiscTemplate", "check_disc", "layout_disc", "render_disc_pdf",
           "render_disc_png"]  # fmt: skip

DISC_MM = 120.0


@dataclass(frozen=True, slots=True)
class DiscTemplate:
    """Printable area of a disc: outer diameter and the unprinted hub around the hole."""

    hole_mm: float = 22.0  # unprintable centre: 15 (full-face) to 40 mm (standard hub)
    printable_mm: float = 118.0
    gap_mm: float = 2.0
    guides: bool = True  # draw the disc edge and hole outline (previews); off for printing

    def __post_init__(self) -> None:
        if not 15.0 <= self.hole_mm <= 40.0:
            raise LabelInputError(
                f"disc hole of {self.hole_mm} mm is outside 15-40 mm: printers leave"
                " 15 mm (full-face printable) to 40 mm (standard hub) unprinted"
            )
        if not 80.0 <= self.printable_mm <= DISC_MM:
            raise LabelInputError(
                f"printable diameter {self.printable_mm} mm must be 80-{DISC_MM:.0f} mm"
            )


@dataclass(frozen=True, slots=True)
class DiscLayout:
    template: DiscTemplate
    fields: DiscLabelFields
    texts: tuple[TextBox, ...]

    @property
    def centre(self) -> float:
        return float(DISC_MM * mm / 2)


def _zone(template: DiscTemplate, *, above: bool) -> Rect:
    centre = DISC_MM * mm / 2
    radius = template.printable_mm * mm / 2 - template.gap_mm * mm
    near = template.hole_mm * mm / 2 + template.gap_mm * mm
    far = near + (radius - near) * 0.78
    half = math.sqrt(radius**2 - far**2)
    y = centre + near if above else centre - far
    return Rect(centre - half, y, 2 * half, far - near)


def _place(lines: list[str], zone: Rect, *, bold_first: bool, max_size: float) -> list[TextBox]:
    fitted = fit_block(
        lines,
        width=zone.w,
        height=zone.h,
        max_size=max_size,
        min_size=6,
        bold_first=bold_first,
        shrink_floor=max_size,
        what="the disc label text",
    )
    ascent, _ = ascent_descent(fitted.size)
    # Centre the block vertically in its zone and each line horizontally on the disc.
    top = zone.top - (zone.h - block_height(len(fitted.lines), fitted.size)) / 2
    boxes: list[TextBox] = []
    for i, line in enumerate(fitted.lines):
        bold = i < fitted.bold_count
        x = zone.x + (zone.w - text_width(line, fitted.size, bold=bold)) / 2
        boxes.append(TextBox(line, x, top - ascent - i * fitted.size * LEADING, fitted.size, bold))
    return boxes


def layout_disc(fields: DiscLabelFields, template: DiscTemplate | None = None) -> DiscLayout:
    """Place the merge fields: title and customer above the hole, copy, order, date below."""
    template = template or DiscTemplate()
    upper = [fields.title, fields.customer] if fields.customer.strip() else [fields.title]
    lower = [f"Copy {fields.copy_text}", f"Order {fields.order_id}", fields.date]
    texts = _place(upper, _zone(template, above=True), bold_first=True, max_size=20)
    texts += _place([x for x in lower if x], _zone(template, above=False), bold_first=False,
                    max_size=12)  # fmt: skip
    return DiscLayout(template, fields, tuple(texts))


def check_disc(layout: DiscLayout) -> list[str]:
    """Text boxes that reach past the printable circle or into the hub (empty when fine)."""
    c = layout.centre
    outer = layout.template.printable_mm * mm / 2
    hole = layout.template.hole_mm * mm / 2
    problems: list[str] = []
    for box in layout.texts:
        r = text_rect(box)
        corners = [(r.x, r.y), (r.right, r.y), (r.x, r.top), (r.right, r.top)]
        if any(math.hypot(x - c, y - c) > outer + 0.01 for x, y in corners):
            problems.append(f"{box.text!r} reaches past the printable edge")
        nearest_x = min(max(c, r.x), r.right)
        nearest_y = min(max(c, r.y), r.top)
        if math.hypot(nearest_x - c, nearest_y - c) < hole:
            problems.append(f"{box.text!r} reaches into the centre hole")
    return problems


def render_disc_pdf(layout: DiscLayout) -> bytes:
    """A 120 x 120 mm PDF page with the disc centred, for the robot's printer driver."""
    import io

    out = io.BytesIO()
    size = DISC_MM * mm
    register_fonts()
    canvas = Canvas(out, pagesize=(size, size), initialFontName=SANS)
    canvas.setTitle(f"{layout.fields.title} - copy {layout.fields.copy_text}")
    canvas.setCreator("discflow")
    c = layout.centre
    if layout.template.guides:
        canvas.setStrokeGray(0.6)
        canvas.setLineWidth(0.5)
        canvas.circle(c, c, size / 2 - 0.25)
        canvas.circle(c, c, layout.template.hole_mm * mm / 2)
    for box in layout.texts:
        draw_text(canvas, box)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def render_disc_png(layout: DiscLayout, *, dpi: int = 150) -> bytes:
    """The PDF rasterised by ``pdftoppm`` (poppler-utils) at ``dpi``.

    Cached by layout (content, design, merge fields) and resolution: a preview page
    viewed again costs no PDF and no ``pdftoppm`` process."""
    return _rasterise(layout, dpi)


@functools.lru_cache(maxsize=256)  # a preview is 10-60 kB: at most ~15 MB held
def _rasterise(layout: DiscLayout, dpi: int) -> bytes:
    pdf = render_disc_pdf(layout)
    with tempfile.TemporaryDirectory(prefix="discflow-disc-") as tmp:
        src = Path(tmp) / "label.pdf"
        src.write_bytes(pdf)
        try:
            # bandit B603 B607 are false alarms: a fixed program (poppler's pdftoppm, found on
            # PATH like every Debian tool), file paths we made as separate arguments; no shell
            subprocess.run(  # nosec B603 B607
                ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(src), str(Path(tmp) / "p")],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except FileNotFoundError as exc:
            raise LabelError(
                "pdftoppm is not installed: install poppler-utils (apt-get install poppler-utils)"
                " to make PNG previews"
            ) from exc
        except subprocess.CalledProcessError as exc:
            raise LabelError(
                "pdftoppm could not rasterise the disc label: "
                + exc.stderr.decode(errors="replace")
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise LabelError("pdftoppm took over 60 s to rasterise one disc label") from exc
        return (Path(tmp) / "p.png").read_bytes()

"""Disc-face labels: a 120 mm disc with merge fields, as PDF and PNG.

Invariant: text lives in two rectangles inscribed in the printable ring, one above
and one below the centre hole; each rectangle's far corners lie on the printable
circle and its near edge clears the hole by ``gap_mm``, so fitted text (shrink,
then wrap) can touch neither the disc edge nor the hub. A barcode, when asked for,
sits in the band right of the hub, between the two text zones. ``check_disc``
verifies all of that again from the drawn boxes. The PNG is the PDF rasterised by poppler's
``pdftoppm``, so the preview an operator sees is the very file sent to the robot.
"""

from __future__ import annotations

import functools
import math
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from discflow.errors import LabelError
from discflow.labels._errors import LabelInputError, LabelTooSmall
from discflow.labels._fonts import SANS, ascent_descent, register_fonts, text_width
from discflow.labels._geometry import Rect
from discflow.labels._items import DiscLabelFields
from discflow.labels._layout import TextBox
from discflow.labels._overflow import text_rect
from discflow.labels._pdf import draw_text
from discflow.labels._text import LEADING, block_height, fit_block

__all__ = ["DiscBarcode", "DiscLayout", "DiscTemplate", "check_disc", "layout_disc",
           "place_disc_barcode", "render_disc_pdf", "render_disc_png"]  # fmt: skip

DISC_MM = 120.0
# Barcodes reportlab draws as a square matrix; every other one is a row of bars.
MATRIX_CODES = frozenset({"QR", "ECC200DataMatrix"})
_BAR_HEIGHT_MM = 8.0
_MATRIX_MM = 14.0
# Bars drawn narrower than reportlab's default module (7.5 mil, 0.19 mm) do not scan
# reliably off a disc's inkjet print: such a value is too long for the band. The
# quiet zone (10 modules each side, ISO/IEC 15417) is kept inside the band.
_MODULE_PT = 0.0075 * 72
_QUIET_MODULES = 10
_MAX_BAR_SCALE = 1.5


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
class DiscBarcode:
    """A barcode on a disc face, drawn by reportlab to fill its box (points).

    ``symbology`` is reportlab's name (``Code128``, ``Standard39``, ``QR``...)."""

    value: str
    symbology: str
    x: float
    y: float
    w: float
    h: float

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.w, self.h)


@dataclass(frozen=True, slots=True)
class DiscLayout:
    template: DiscTemplate
    fields: DiscLabelFields
    texts: tuple[TextBox, ...]
    barcode: DiscBarcode | None = None

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


def _symbol(value: str, symbology: str) -> Drawing:
    # LabelTooSmall for a value the symbology cannot encode (reportlab raises several kinds)
    linear = {} if symbology in MATRIX_CODES else {"quiet": False}  # quiet zone: ours
    try:
        drawing = createBarcodeDrawing(symbology, value=value, humanReadable=False, **linear)
    except (ValueError, AttributeError, KeyError, TypeError, IndexError) as exc:
        raise LabelTooSmall(f"{symbology} cannot encode {value!r}: {exc}") from None
    if not isinstance(drawing, Drawing) or drawing.width <= 0 or drawing.height <= 0:
        raise LabelTooSmall(f"{symbology} drew nothing for {value!r}")
    return drawing


def place_disc_barcode(template: DiscTemplate, value: str, symbology: str) -> DiscBarcode:
    """The barcode in the band right of the hub: bars 8 mm high across the band, a
    matrix code 14 mm square; ``LabelTooSmall`` when the value cannot be encoded or its
    bars would be drawn narrower than they scan."""
    centre = DISC_MM * mm / 2
    radius = template.printable_mm * mm / 2 - template.gap_mm * mm
    start = centre + template.hole_mm * mm / 2 + template.gap_mm * mm
    drawing = _symbol(value, symbology)
    if symbology in MATRIX_CODES:
        side = _MATRIX_MM * mm
        return DiscBarcode(value, symbology, start, centre - side / 2, side, side)
    height = _BAR_HEIGHT_MM * mm
    band = centre + math.sqrt(radius**2 - (height / 2) ** 2) - start
    quiet = _QUIET_MODULES * _MODULE_PT
    needed = drawing.width + 2 * quiet
    if band < needed:
        raise LabelTooSmall(
            f"a {symbology} barcode of {value!r} needs {needed / mm:.0f} mm;"
            f" {band / mm:.0f} mm fit beside the hub"
        )
    scale = min(band / needed, _MAX_BAR_SCALE)
    x = start + (band - needed * scale) / 2 + quiet * scale
    return DiscBarcode(value, symbology, x, centre - height / 2, drawing.width * scale, height)


def check_disc(layout: DiscLayout) -> list[str]:
    """Text boxes and the barcode where they reach past the printable circle or into the
    hub, and a barcode over text (empty when fine)."""
    c = layout.centre
    outer = layout.template.printable_mm * mm / 2
    hole = layout.template.hole_mm * mm / 2
    problems: list[str] = []
    boxes = [(repr(box.text), text_rect(box)) for box in layout.texts]
    if layout.barcode is not None:
        boxes.append((f"the barcode {layout.barcode.value!r}", layout.barcode.rect))
    for what, r in boxes:
        corners = [(r.x, r.y), (r.right, r.y), (r.x, r.top), (r.right, r.top)]
        if any(math.hypot(x - c, y - c) > outer + 0.01 for x, y in corners):
            problems.append(f"{what} reaches past the printable edge")
        nearest_x = min(max(c, r.x), r.right)
        nearest_y = min(max(c, r.y), r.top)
        if math.hypot(nearest_x - c, nearest_y - c) < hole:
            problems.append(f"{what} reaches into the centre hole")
    if layout.barcode is not None:
        bars = layout.barcode.rect
        for what, r in boxes[:-1]:
            if r.x < bars.right and bars.x < r.right and r.y < bars.top and bars.y < r.top:
                problems.append(f"{what} overlaps the barcode")
    return problems


def _draw_barcode(canvas: Canvas, barcode: DiscBarcode) -> None:
    drawing = _symbol(barcode.value, barcode.symbology)
    sx, sy = barcode.w / drawing.width, barcode.h / drawing.height
    if barcode.symbology in MATRIX_CODES:
        sx = sy = min(sx, sy)  # modules stay square
    drawing.scale(sx, sy)
    drawing.width, drawing.height = drawing.width * sx, drawing.height * sy
    renderPDF.draw(drawing, canvas, barcode.x, barcode.y)


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
    if layout.barcode is not None:
        _draw_barcode(canvas, layout.barcode)
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

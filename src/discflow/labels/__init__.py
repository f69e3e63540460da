"""Mailing labels, disc-face labels, and the printers they go to (claims 7 and 12).

Inputs are plain domain values (``LabelItem``, ``DiscLabelFields``), so callers
(the dispatcher, the CLI, the web UI) fetch orders however they like and hand the
values in. Typical use::

    pdf = render_sheet(items, sheet="avery-5160", fmt="pdf")
    job = CupsPrinter("Labels").submit(pdf, name="order-42", fmt="pdf",
                                       media=sheet_spec("avery-5160").cups_media)
"""

from discflow.labels._address import COUNTRY_NAMES, FORMATS, format_address
from discflow.labels._disc import (
    MATRIX_CODES,
    DiscBarcode,
    DiscLayout,
    DiscTemplate,
    check_disc,
    layout_disc,
    place_disc_barcode,
    render_disc_pdf,
    render_disc_png,
)
from discflow.labels._errors import LabelInputError, LabelTooSmall, PrinterNotFound, PrintFailed
from discflow.labels._fonts import missing_glyphs
from discflow.labels._geometry import SHEETS, Rect, SheetName, SheetSpec, sheet_spec
from discflow.labels._items import DiscLabelFields, LabelItem
from discflow.labels._layout import BarcodeBox, LabelLayout, SheetLayout, TextBox, layout_sheet
from discflow.labels._overflow import Overflow, barcode_rect, check_layout, text_rect
from discflow.labels._printing import CupsPrinter, DocumentFormat, FolderPrinter, Printer, PrintJob
from discflow.labels._render import LabelFormat, render_layout, render_sheet
from discflow.labels._zpl import escape_field

__all__ = [
    "COUNTRY_NAMES",
    "MATRIX_CODES",
    "FORMATS",
    "SHEETS",
    "BarcodeBox",
    "CupsPrinter",
    "DiscBarcode",
    "DiscLabelFields",
    "DiscLayout",
    "DiscTemplate",
    "DocumentFormat",
    "FolderPrinter",
    "LabelFormat",
    "LabelInputError",
    "LabelItem",
    "LabelLayout",
    "LabelTooSmall",
    "Overflow",
    "PrintFailed",
    "PrintJob",
    "Printer",
    "PrinterNotFound",
    "Rect",
    "SheetLayout",
    "SheetName",
    "SheetSpec",
    "TextBox",
    "barcode_rect",
    "check_disc",
    "check_layout",
    "escape_field",
    "format_address",
    "layout_disc",
    "layout_sheet",
    "missing_glyphs",
    "place_disc_barcode",
    "render_disc_pdf",
    "render_disc_png",
    "render_layout",
    "render_sheet",
    "sheet_spec",
    "text_rect",
]

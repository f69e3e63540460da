"""Mailing labels as ZPL II for Zebra-class thermal printers (4x6 in stock only).

Invariant: one ``^XA … ^XZ`` format per label, UTF-8 throughout (``^CI28``), every
field placed with ``^FO`` inside the print width (``^PW``) and label length
(``^LL``), every ``^FD`` escaped with ``^FH`` so no address can inject a command
(``^``, ``~`` and the escape character itself are sent as ``_XX`` hex), and each
text field held to its measured width by a one-line ``^FB`` block. Positions come
from the same layout as the PDF, converted from points to printer dots.

Text in Latin-1 uses the printer's resident scalable font ``0``; other scripts use
a TrueType font stored on the printer (``unicode_font``, default Zebra's Andale
Japanese ``E:ANMDJ.TTF``, which also covers Cyrillic and Greek).
"""

from __future__ import annotations

from discflow.labels._errors import LabelInputError
from discflow.labels._fonts import ascent_descent
from discflow.labels._layout import QUIET_MODULES, SheetLayout, TextBox

__all__ = ["DEFAULT_UNICODE_FONT", "code128b_modules", "escape_field", "render_zpl"]

DEFAULT_UNICODE_FONT = "E:ANMDJ.TTF"
_ESCAPE = "_"


def escape_field(text: str) -> str:
    """``text`` for a ``^FH_^FD`` field: ``^``, ``~`` and ``_`` as hex of their UTF-8 byte."""
    return "".join(f"{_ESCAPE}{ord(ch):02X}" if ch in "^~_" else ch for ch in text)


def code128b_modules(value: str) -> int:
    """Symbol width in modules when the printer encodes ``value`` in subset B."""
    return 11 * (len(value) + 2) + 13  # start, data, check character, 13-module stop


def _dots(points: float, dpi: int) -> int:
    return int(round(points * dpi / 72))


def _text_field(box: TextBox, *, width_pt: float, page_h: float, dpi: int, font: str) -> str:
    ascent, _ = ascent_descent(box.size)
    x = _dots(box.x, dpi)
    y = _dots(page_h - (box.baseline + ascent), dpi)
    height = max(10, _dots(box.size * 1.15, dpi))
    if all(ord(ch) < 256 for ch in box.text):
        select = f"^A0N,{height},{height}"
    else:
        select = f"^A@N,{height},{height},{font}"
    block = f"^FB{_dots(width_pt, dpi)},1,0,L,0"
    return f"^FO{x},{max(0, y)}{select}{block}^FH{_ESCAPE}^FD{escape_field(box.text)}^FS"


def render_zpl(
    layout: SheetLayout, *, dpi: int = 203, unicode_font: str = DEFAULT_UNICODE_FONT
) -> bytes:
    """One ZPL II format per label of a 4x6 layout, as UTF-8 bytes."""
    spec = layout.spec
    if spec.name != "4x6":
        raise LabelInputError(
            f"ZPL is for 4x6 thermal labels, not {spec.name}: use --format pdf for sheets"
        )
    if dpi not in (152, 203, 300, 600):
        raise LabelInputError(f"printer resolution {dpi} dpi is not a Zebra one: use 203 or 300")
    formats: list[str] = []
    for label in layout.labels:
        inner_w = spec.label_w - 2 * spec.pad_x
        lines = [
            "^XA",
            "^CI28",
            f"^PW{_dots(spec.label_w, dpi)}",
            f"^LL{_dots(spec.label_h, dpi)}",
            "^LH0,0",
        ]
        for box in label.texts:
            lines.append(
                _text_field(box, width_pt=inner_w, page_h=spec.page_h, dpi=dpi, font=unicode_font)
            )
        bc = label.barcode
        modules = code128b_modules(bc.value) + 2 * QUIET_MODULES
        module_dots = max(1, min(_dots(spec.barcode_max_bar, dpi), _dots(inner_w, dpi) // modules))
        symbol_dots = code128b_modules(bc.value) * module_dots
        x = _dots(spec.pad_x, dpi) + (_dots(inner_w, dpi) - symbol_dots) // 2
        height = _dots(bc.height, dpi)
        y = _dots(spec.page_h - bc.y, dpi) - height
        lines.append(f"^BY{module_dots},3,{height}")
        # ">:" starts the symbol in subset B; ids are printable ASCII without ">".
        lines.append(f"^FO{x},{y}^BCN,{height},N,N,N,N^FD>:{bc.value}^FS")
        lines.append("^PQ1")
        lines.append("^XZ")
        formats.append("\n".join(lines))
    return ("\n".join(formats) + "\n").encode("utf-8")

"""The fonts shipped inside discflow and per-character font fallback.

Invariant: text is drawn only with the TrueType fonts in ``fonts/`` (embedded as
subsets in every PDF, so a printer or viewer never substitutes a font), and each
character goes to the first font in the chain that has a glyph for it. Widths come
from reportlab's ``stringWidth`` on those same fonts, so what is measured is what
is drawn.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

__all__ = ["Run", "ascent_descent", "missing_glyphs", "register_fonts", "runs", "text_width"]

SANS = "DiscflowSans"
SANS_BOLD = "DiscflowSans-Bold"
JAPANESE = "DiscflowJapanese"

_FILES = {
    SANS: "NotoSans-Regular.ttf",
    SANS_BOLD: "NotoSans-Bold.ttf",
    JAPANESE: "DroidSansJapanese.ttf",
}
_lock = threading.Lock()
_coverage: dict[str, frozenset[int]] = {}
_drawable: set[int] = set()  # code points some font in a chain can draw (built once)


def register_fonts() -> None:
    """Register the shipped fonts with reportlab (idempotent, thread-safe)."""
    with _lock:
        if _coverage:
            return
        folder = resources.files("discflow.labels") / "fonts"
        for name, filename in _FILES.items():
            with resources.as_file(folder / filename) as path:
                font = TTFont(name, str(path))
            pdfmetrics.registerFont(font)
            _coverage[name] = frozenset(font.face.charToGlyph)
        _drawable.update(_coverage[SANS], _coverage[JAPANESE])


def _chain(bold: bool) -> tuple[str, ...]:
    return (SANS_BOLD, JAPANESE) if bold else (SANS, JAPANESE)


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of one line drawn in one font."""

    font: str
    text: str


def runs(text: str, *, bold: bool = False) -> list[Run]:
    """Split ``text`` into runs, each in the first font of the chain that has its glyphs."""
    register_fonts()
    chain = _chain(bold)
    out: list[Run] = []
    for ch in text:
        # Spaces and combining marks stay in the current run so that accents are
        # drawn by the font of their base letter.
        if out and (ch == " " or unicodedata.combining(ch)):
            font = out[-1].font
        else:
            font = next((f for f in chain if ord(ch) in _coverage[f]), chain[0])
        if out and out[-1].font == font:
            out[-1] = Run(font, out[-1].text + ch)
        else:
            out.append(Run(font, ch))
    return out


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` at ``size`` as it will be drawn."""
    return float(sum(pdfmetrics.stringWidth(r.text, r.font, size) for r in runs(text, bold=bold)))


def ascent_descent(size: float) -> tuple[float, float]:
    """Highest ascent and lowest descent (negative) of any shipped font at ``size``."""
    register_fonts()
    pairs = [pdfmetrics.getAscentDescent(name, size) for name in _FILES]
    return max(a for a, _ in pairs), min(d for _, d in pairs)


def missing_glyphs(text: str) -> str:
    """Characters of ``text`` that no shipped font can draw (empty when all can)."""
    register_fonts()
    have = _drawable  # the union, not rebuilt per call: every order's text is checked
    seen: dict[str, None] = {}
    for ch in text:
        if ord(ch) not in have and not ch.isspace() and not unicodedata.combining(ch):
            seen[ch] = None
    return "".join(seen)

"""Fitting lines of text into a box: shrink first, then wrap.

Invariant: a result from ``fit_block`` always fits: every line measures at most
the box width, and the block (line pitch ``size * LEADING`` plus the fonts' ascent
and descent, see ``block_height``) at most the box height, measured with the same
font chain that draws them. When nothing fits at the minimum size, ``LabelTooSmall``
is raised instead of drawing outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from discflow.labels._errors import LabelTooSmall
from discflow.labels._fonts import ascent_descent, text_width

__all__ = ["LEADING", "Fitted", "block_height", "fit_block", "fit_line", "wrap"]

LEADING = 1.2
_STEP = 0.25


@dataclass(frozen=True, slots=True)
class Fitted:
    size: float
    lines: tuple[str, ...]
    bold_count: int  # how many leading lines are drawn bold (a wrapped name stays bold)


def block_height(count: int, size: float) -> float:
    """Height of ``count`` lines from the first line's ascent to the last line's descent."""
    ascent, descent = ascent_descent(size)
    return (count - 1) * size * LEADING + ascent - descent


def _width(line: str, size: float, bold: bool) -> float:
    return text_width(line, size, bold=bold)


def _break_word(word: str, size: float, width: float, bold: bool) -> list[str]:
    # Scripts without spaces (Japanese) and over-long tokens break between characters.
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and _width(current + ch, size, bold) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(line: str, size: float, width: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap of one line; words wider than the box break between characters."""
    if _width(line, size, bold) <= width:
        return [line]
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if _width(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
        pieces = _break_word(word, size, width, bold)
        out.extend(pieces[:-1])
        current = pieces[-1] if pieces else ""
    if current:
        out.append(current)
    return out


def _sizes(max_size: float, min_size: float) -> list[float]:
    count = int(round((max_size - min_size) / _STEP))
    return [max_size - i * _STEP for i in range(count + 1)]


def fit_block(
    lines: Sequence[str],
    *,
    width: float,
    height: float,
    max_size: float,
    min_size: float,
    bold_first: bool = False,
    shrink_floor: float | None = None,
    what: str = "text",
) -> Fitted:
    """Largest size at which ``lines`` fit the box: first without wrapping, then wrapped.

    Lines first shrink, unwrapped, from ``max_size`` down to ``shrink_floor`` (default
    ``min_size``); from there on they wrap while shrinking further to ``min_size``. A
    floor equal to ``max_size`` wraps at once, which suits prose such as a disc title.
    """

    def widths_ok(block: Sequence[str], size: float, bold_count: int) -> bool:
        return all(_width(line, size, i < bold_count) <= width for i, line in enumerate(block))

    def height_ok(count: int, size: float) -> bool:
        return block_height(count, size) <= height

    first_bold = 1 if bold_first else 0
    floor = min(max_size, max(min_size, shrink_floor or min_size))
    for size in _sizes(max_size, floor):
        if height_ok(len(lines), size) and widths_ok(lines, size, first_bold):
            return Fitted(size, tuple(lines), first_bold)
    # Shrinking alone was not enough: wrap the long lines at the largest size that works.
    for size in _sizes(floor, min_size):
        wrapped: list[str] = []
        bold_count = 0
        for i, line in enumerate(lines):
            bold = bold_first and i == 0
            pieces = wrap(line, size, width, bold=bold)
            if bold:
                bold_count = len(pieces)
            wrapped.extend(pieces)
        if height_ok(len(wrapped), size) and widths_ok(wrapped, size, bold_count):
            return Fitted(size, tuple(wrapped), bold_count)
    raise LabelTooSmall(
        f"{what} does not fit a {width:.0f} x {height:.0f} pt box even at {min_size} pt"
        f" ({len(lines)} lines, longest {max(len(x) for x in lines)} characters):"
        " shorten the address or choose a larger label stock such as 4x6"
    )


def fit_line(text: str, *, width: float, max_size: float, min_size: float) -> tuple[float, str]:
    """One line that shrinks, then loses its end behind an ellipsis, to fit ``width``."""
    size = max_size
    while size - _STEP >= min_size and _width(text, size, False) > width:
        size -= _STEP
    if _width(text, size, False) <= width:
        return size, text
    cut = text
    while cut and _width(cut + "…", size, False) > width:
        cut = cut[:-1]
    return size, (cut.rstrip() + "…") if cut else ""

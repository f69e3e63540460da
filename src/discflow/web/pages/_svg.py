"""A small server-side SVG renderer: line charts, bar charts and media gauges.

Invariants:
- Pure functions of their arguments (no clock, no database): the same data
  always gives the same markup, so the math is unit-tested directly.
- Every text that reaches the markup is XML-escaped here; callers may mark
  the result safe.
- The value axis always starts at 0 and ends on a "nice" tick (1, 2, 2.5 or 5
  times a power of ten) at or above the largest value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 22, 30  # the top margin holds the legend


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


def nice_step(span: float, count: int = 5, *, integer: bool = False) -> float:
    """A step of 1, 2, 2.5 or 5 x 10^k giving about ``count`` intervals over ``span``
    (with ``integer``, only whole steps: 2.5 is skipped, nothing below 1)."""
    if span <= 0 or count < 1:
        return 1.0
    raw = span / count
    power: float = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = factor * power
        if integer and not math.isclose(step, round(step)):
            continue
        if raw <= step * (1 + 1e-9):
            return max(step, 1.0) if integer else step
    return 10.0 * power  # reached only when every candidate was fractional: 10 x power


def nice_ticks(maximum: float, count: int = 4, *, integer: bool = True) -> list[float]:
    """Ticks from 0 to the first step multiple at or above ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    step = nice_step(maximum, count, integer=integer)
    top = math.ceil(maximum / step - 1e-9) * step
    steps = round(top / step)
    return [round(i * step, 10) for i in range(steps + 1)]


def scale(value: float, *, domain: tuple[float, float], span: tuple[float, float]) -> float:
    """Map ``value`` linearly from ``domain`` onto ``span`` (either may be reversed)."""
    d0, d1 = domain
    r0, r1 = span
    if d1 == d0:
        return (r0 + r1) / 2
    return r0 + (value - d0) * (r1 - r0) / (d1 - d0)


def x_positions(count: int, *, left: float, right: float) -> list[float]:
    """``count`` evenly spaced points from ``left`` to ``right`` (centred when single)."""
    if count <= 0:
        return []
    if count == 1:
        return [(left + right) / 2]
    step = (right - left) / (count - 1)
    return [left + i * step for i in range(count)]


def label_every(count: int, room: int) -> int:
    """Show every n-th x label so that at most ``room`` labels appear."""
    if count <= room or room <= 0:
        return 1
    return math.ceil(count / room)


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _tick_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else _fmt(value)


def _frame(
    *,
    title: str,
    width: int,
    height: int,
    ticks: list[float],
    labels: Sequence[str],
    xs: list[float],
) -> list[str]:
    bottom = height - _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        y = scale(tick, domain=(0, ticks[-1]), span=(bottom, _TOP))
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            f'class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end" class="tick">'
            f"{_tick_label(tick)}</text>"
        )
    every = label_every(len(labels), max(1, (width - _LEFT - _RIGHT) // 44))
    for index, (x, label) in enumerate(zip(xs, labels, strict=False)):
        if index % every == 0 or index == len(labels) - 1:
            parts.append(
                f'<text x="{_fmt(x)}" y="{height - 10}" text-anchor="middle" class="tick">'
                f"{escape(label)}</text>"
            )
    return parts


def line_chart(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    title: str,
    width: int = 420,
    height: int = 190,
) -> str:
    """One polyline per series over shared x labels, with a legend."""
    peak = max((v for s in series for v in s.values), default=0.0)
    ticks = nice_ticks(peak)
    xs = x_positions(len(labels), left=_LEFT, right=width - _RIGHT)
    parts = _frame(title=title, width=width, height=height, ticks=ticks, labels=labels, xs=xs)
    bottom = height - _BOTTOM
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{_fmt(x)},{_fmt(scale(v, domain=(0, ticks[-1]), span=(bottom, _TOP)))}"
            for x, v in zip(xs, item.values, strict=False)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
            f'class="series"><title>{escape(item.name)}</title></polyline>'
        )
        lx = _LEFT + 8 + index * 110
        parts.append(
            f'<rect x="{lx}" y="3" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="12" class="legend">{escape(item.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    values: Sequence[float],
    *,
    labels: Sequence[str],
    title: str,
    width: int = 420,
    height: int = 190,
    colour: str = PALETTE[0],
) -> str:
    """One bar per label, from the zero line up to its value."""
    ticks = nice_ticks(max(values, default=0.0))
    count = max(1, len(values))
    slot = (width - _LEFT - _RIGHT) / count
    xs = [_LEFT + slot * (i + 0.5) for i in range(len(values))]
    parts = _frame(title=title, width=width, height=height, ticks=ticks, labels=labels, xs=xs)
    bottom = height - _BOTTOM
    for x, value, label in zip(xs, values, labels, strict=False):
        top = scale(value, domain=(0, ticks[-1]), span=(bottom, _TOP))
        parts.append(
            f'<rect x="{_fmt(x - slot * 0.35)}" y="{_fmt(top)}" width="{_fmt(slot * 0.7)}" '
            f'height="{_fmt(bottom - top)}" fill="{colour}" class="bar">'
            f"<title>{escape(label)}: {_tick_label(value)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def gauge_scale(loaded: int, *, threshold: int, reload_count: int) -> int:
    """Full scale of a media gauge: a full reload, or more if more is loaded."""
    return max(1, loaded, reload_count, 2 * threshold)


def gauge(value: int, *, maximum: int, threshold: int, label: str, width: int = 220) -> str:
    """A horizontal gauge with the low-media threshold marked by a tick."""
    height = 22
    maximum = max(1, maximum)
    fill = scale(min(value, maximum), domain=(0, maximum), span=(0, width))
    mark = scale(min(threshold, maximum), domain=(0, maximum), span=(0, width))
    level = "low" if value <= threshold else "ok"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="gauge gauge-{level}" role="img" '
        f'aria-label="{escape(label)}: {value} of {maximum}, low at {threshold}">'
        f'<rect x="0" y="3" width="{width}" height="16" class="gauge-track"/>'
        f'<rect x="0" y="3" width="{_fmt(fill)}" height="16" class="gauge-fill"/>'
        f'<line x1="{_fmt(mark)}" x2="{_fmt(mark)}" y1="0" y2="{height}" class="gauge-mark">'
        f"<title>low at {threshold}</title></line>"
        "</svg>"
    )

"""The SVG renderer's math: nice ticks, linear scales, point placement, gauges."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from discflow.web.pages._svg import (
    Series,
    bar_chart,
    gauge,
    gauge_scale,
    label_every,
    line_chart,
    nice_step,
    nice_ticks,
    scale,
    x_positions,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("span", "count", "step"),
    [(10, 5, 2), (100, 4, 25), (7, 4, 2), (1, 4, 0.25), (0.03, 3, 0.01), (900, 5, 200)],
)
def test_nice_step_is_1_2_2_5_or_5_times_a_power_of_ten(
    span: float, count: int, step: float
) -> None:
    assert nice_step(span, count) == pytest.approx(step)


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 5, 10]),
        (37, [0, 10, 20, 30, 40]),
        (101, [0, 50, 100, 150]),
    ],
)
def test_ticks_start_at_zero_and_end_at_or_above_the_peak(peak: float, ticks: list[int]) -> None:
    got = nice_ticks(peak)
    assert got == ticks
    assert got[0] == 0 and got[-1] >= peak


def test_whole_steps_skip_two_and_a_half() -> None:
    assert nice_step(10, 4, integer=True) == 5
    assert nice_step(1, 4, integer=True) == 1
    assert nice_step(100, 4, integer=True) == 25


def test_scale_maps_linearly_and_may_be_reversed() -> None:
    assert scale(0, domain=(0, 10), span=(100, 0)) == 100
    assert scale(10, domain=(0, 10), span=(100, 0)) == 0
    assert scale(2.5, domain=(0, 10), span=(100, 0)) == 75
    assert scale(5, domain=(0, 10), span=(20, 40)) == 30
    assert scale(3, domain=(3, 3), span=(0, 10)) == 5  # a flat domain lands mid-span


def test_x_positions_spread_evenly_and_centre_a_single_point() -> None:
    assert x_positions(3, left=10, right=30) == [10, 20, 30]
    assert x_positions(1, left=10, right=30) == [20]
    assert x_positions(0, left=10, right=30) == []


def test_label_every_keeps_labels_within_room() -> None:
    assert label_every(24, 24) == 1
    assert label_every(24, 10) == 3
    assert 24 / label_every(24, 7) <= 7


def _points(markup: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(markup)
    lines = []
    for polyline in root.iter(f"{SVG}polyline"):
        pairs = [p.split(",") for p in polyline.attrib["points"].split()]
        lines.append([(float(x), float(y)) for x, y in pairs])
    return lines


def test_line_chart_places_each_value_on_the_value_axis() -> None:
    markup = line_chart(
        [Series("a", (0, 5, 10)), Series("b", (10, 0, 0))],
        labels=["00", "01", "02"],
        title="t",
        width=244,
        height=152,
    )
    a, b = _points(markup)
    # plot area: x 44..232, y 122 (value 0) .. 22 (value 10, the top tick)
    assert a == [(44, 122), (138, 72), (232, 22)]
    assert b == [(44, 22), (138, 122), (232, 122)]


def test_bar_chart_bar_heights_are_proportional() -> None:
    root = ET.fromstring(bar_chart([1, 2, 0], labels=["a", "b", "c"], title="bars", height=152))
    heights = [
        float(r.attrib["height"]) for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"
    ]
    assert heights == [50, 100, 0]  # plot is 100 high, top tick 2


def test_texts_are_escaped() -> None:
    markup = line_chart([Series("<b>&", (1,))], labels=["<"], title='"x"')
    ET.fromstring(markup)  # well-formed despite the markup characters
    assert "<b>" not in markup and "&lt;b&gt;&amp;" in markup


def test_gauge_fill_and_threshold_mark() -> None:
    root = ET.fromstring(gauge(25, maximum=100, threshold=10, label="CD-R", width=200))
    fill = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "gauge-fill")
    mark = next(root.iter(f"{SVG}line"))
    assert float(fill.attrib["width"]) == 50
    assert float(mark.attrib["x1"]) == 20
    assert "gauge-ok" in root.attrib["class"]
    low = gauge(10, maximum=100, threshold=10, label="CD-R")
    assert "gauge-low" in low and re.search(r"10 of 100, low at 10", low)


def test_gauge_scale_is_a_reload_or_what_is_loaded() -> None:
    assert gauge_scale(12, threshold=10, reload_count=100) == 100
    assert gauge_scale(250, threshold=10, reload_count=100) == 250
    assert gauge_scale(0, threshold=80, reload_count=100) == 160

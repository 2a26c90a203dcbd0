"""The dashboard's hand-written SVG charts: nice ticks, numpy's binning, the bars' geometry against the data,
escaping, determinism, and what the page's CSP allows (no script, no style)."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from markupsafe import Markup

from davar.reporting import charts

SVG = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert(1)</script>"


def _tree(svg: Markup) -> ET.Element:
    """The chart as XML (it is well-formed SVG on its own, namespace and all)."""
    return ET.fromstring(str(svg))


def _rects(svg: Markup) -> list[dict[str, float | str]]:
    return [{k: (v if k == "fill" or k == "stroke" else float(v)) for k, v in r.attrib.items()}
            for r in _tree(svg).iter(f"{SVG}rect")]


def _texts(svg: Markup) -> list[str]:
    return [t.text or "" for t in _tree(svg).iter(f"{SVG}text")]


def _number(value: float) -> str:
    return f"{value:g}"


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


# ---- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("span", "integer", "step"), [
    (12, False, 2), (1, False, 0.2), (0.54, False, 0.1), (7, False, 2), (100, False, 20), (31, False, 5),
    (0.003, False, 0.0005), (1, True, 1), (3, True, 1), (2, True, 1), (9, True, 2), (0, False, 1),
])
def test_nice_steps_are_1_2_or_5_times_a_power_of_ten_for_about_five_intervals(span, integer, step):
    assert charts.nice_step(span, integer=integer) == pytest.approx(step)


def test_ticks():
    assert charts.ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.ticks(0, 12) == [0, 2, 4, 6, 8, 10, 12]
    assert charts.ticks(0.47, 1.01) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # inside the range
    assert charts.ticks(0, 0.3) == [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]  # no 0.30000000000000004
    assert charts.ticks(-0.2, 0.2)[2] == 0 and "-" not in f"{charts.ticks(-0.2, 0.2)[2]}"
    # a count axis: whole numbers, from 0 to a tick at or above the largest count
    assert charts.ticks(0, 7, integer=True, cover=True) == [0, 2, 4, 6, 8]
    assert charts.ticks(0, 1, integer=True, cover=True) == [0, 1]
    assert charts.ticks(0, 2, integer=True, cover=True) == [0, 1, 2]
    assert all(t == int(t) for t in charts.ticks(0, 37, integer=True, cover=True))


def test_bin_edges():
    assert charts.bin_edges(0, 12, 10) == [12 * i / 10 for i in range(11)]
    edges = charts.bin_edges(0.45, 1.05, 20)
    assert len(edges) == 21 and edges[0] == 0.45 and edges[-1] == pytest.approx(1.05)


def test_bin_counts_are_numpys():
    rng = random.Random(7)
    edges = charts.bin_edges(0.0, 12.0, 10)
    # values on the edges (a bin holds its left one; the last bin its right one too) and outside them
    values = [rng.uniform(-1, 13) for _ in range(300)] + edges + [12.0, 0.0, -0.0, 12.000001]
    assert charts.bin_counts(values, edges) == np.histogram(values, bins=edges)[0].tolist()
    assert charts.bin_counts([12.0], edges) == [0] * 9 + [1]
    assert charts.bin_counts([1.2], edges) == [0, 1] + [0] * 8
    assert charts.bin_counts([], edges) == [0] * 10


# ---- the charts ----------------------------------------------------------------------------------


def _histogram(**kwargs) -> Markup:
    return charts.histogram([([0.5, 1.5, 1.6, 3.0], "#0969da"), ([1.2, 2.5], "#bc4c00")], charts.bin_edges(0, 3, 3),
                            title="Scores", x_format=_number, count_format=_number, **kwargs)


def test_a_histograms_bars_are_its_counts_stacked():
    svg = _histogram()
    rects = _rects(svg)
    # series 1: [1, 2, 1] (3.0 is in the last bin), series 2 on top: [0, 1, 1]; a count of 0 draws nothing
    assert [r["fill"] for r in rects] == ["#0969da"] * 3 + ["#bc4c00"] * 2
    unit = rects[0]["height"]
    assert [r["height"] / unit for r in rects] == pytest.approx([1, 2, 1, 1, 1], abs=0.01)
    assert len({round(r["width"], 1) for r in rects}) == 1 and rects[0]["width"] > 100
    first, second = rects[1], rects[3]  # bin 1 of each series: stacked
    assert second["x"] == first["x"] and second["y"] + second["height"] == pytest.approx(first["y"], abs=0.02)
    # the count axis ends on a whole tick at or above the tallest stack (3): 0, 1, 2, 3
    assert _texts(svg)[-4:] == ["0", "1", "2", "3"]
    assert _texts(svg)[:7] == ["0", "0.5", "1", "1.5", "2", "2.5", "3"]  # x: over the edges, 6 intervals


def test_threshold_lines_are_dashed_at_their_value():
    svg = charts.histogram([([0.5, 0.7, 0.95], "#0969da")], charts.bin_edges(0.4, 1.0, 20), title="Accuracy",
                           x_format=_percent, count_format=_number, height=240, lines=[0.9], line_colour="#cf222e")
    tree = _tree(svg)
    (dashed,) = [line for line in tree.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert dashed.get("stroke") == "#cf222e" and dashed.get("x1") == dashed.get("x2")
    ticks = {t.text: float(t.get("x")) for t in tree.iter(f"{SVG}text") if t.text and t.text.endswith("%")}
    at_90 = float(dashed.get("x1"))
    assert at_90 == pytest.approx(ticks["90%"], abs=0.02) and ticks["80%"] < at_90 < ticks["100%"]
    assert tree.get("viewBox") == "0 0 640 240"


def test_share_bars_widths_are_the_shares_rows_top_down():
    rows = [(0.5, 0.25, 0.25), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    svg = charts.share_bars(rows, ("#1a7f37", "#d4a72c", "#cf222e"), ["1", "2", "3"], title="Tests",
                            x_format=_percent)
    rects = _rects(svg)
    full = rects[3]["width"]  # row 2: all passed
    assert [r["width"] / full for r in rects] == pytest.approx([0.5, 0.25, 0.25, 1.0, 1.0], abs=0.001)
    assert [r["fill"] for r in rects] == ["#1a7f37", "#d4a72c", "#cf222e", "#1a7f37", "#cf222e"]
    assert rects[0]["y"] < rects[3]["y"] < rects[4]["y"]  # the first row on top
    assert rects[1]["x"] == pytest.approx(rects[0]["x"] + rects[0]["width"], abs=0.02)  # stacked left to right
    assert _texts(svg) == ["0%", "20%", "40%", "60%", "80%", "100%", "1", "2", "3"]
    # 0.38 in a row + 0.9 in, at least 1.6 in, at 100 px an inch (the old figure's size)
    assert _tree(svg).get("viewBox") == "0 0 640 204"
    assert _tree(charts.share_bars([(1.0,)], ("#000",), title="t", x_format=_percent)).get("viewBox") == "0 0 640 160"
    assert _tree(charts.share_bars([(1.0,)], ("#000",), title="t", x_format=_percent, height=110)).get(
        "viewBox") == "0 0 640 110"


def test_row_labels_and_titles_are_escaped():
    svg = charts.share_bars([(0.5, 0.5)], ("#0969da", "#eaeef2"), [XSS], title=f'"{XSS}&', x_format=_percent)
    text = str(svg)
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'aria-label="&#34;&lt;script&gt;' in text
    tree = _tree(svg)  # still well-formed: the values are text, not markup
    assert tree.find(f"{SVG}title").text == f'"{XSS}&' and tree.get("aria-label") == f'"{XSS}&'
    assert XSS in _texts(svg)


def test_a_right_to_left_label_keeps_its_own_direction_and_numbers_stay_as_they_are():
    svg = charts.share_bars([(1.0,), (1.0,)], ("#0969da",), ["سوال ۱ (q1)", "۲"], title="t", x_format=_percent)
    assert _texts(svg)[-2:] == ["\u2068سوال ۱ (q1)\u2069", "۲"]


@pytest.mark.parametrize("chart", [_histogram, lambda: charts.share_bars(
    [(0.3, 0.7)], ("#0969da", "#eaeef2"), ["q"], title="t", x_format=_percent)])
def test_what_the_page_allows_and_the_same_bytes_each_time(chart):
    svg = chart()
    assert isinstance(svg, Markup) and svg == chart()
    tree = _tree(svg)
    assert tree.tag == f"{SVG}svg" and tree.get("role") == "img" and tree.get("direction") == "ltr"
    assert tree.get("width") == "100%" and re.fullmatch(r"0 0 640 \d+", tree.get("viewBox"))
    assert tree[0].tag == f"{SVG}title"  # the accessible name, first
    assert not [e for e in tree.iter() if e.tag in (f"{SVG}script", f"{SVG}style", f"{SVG}image")]
    assert not [e for e in tree.iter() if "style" in e.attrib or any(a.startswith("on") for a in e.attrib)]
    coordinates = [v for e in tree.iter() if e is not tree for k, v in e.attrib.items()
                   if k in ("x", "y", "width", "height", "x1", "x2", "y1", "y2")]
    assert coordinates and all(re.fullmatch(r"-?\d+(\.\d{1,2})?", v) for v in coordinates)
    grid = [line for line in tree.iter(f"{SVG}line") if line.get("stroke") == "#eaeef2"]
    assert grid and all(line in list(tree.find(f"{SVG}g[@class='grid']")) for line in grid)  # under the bars


def test_an_empty_histogram_still_has_axes():
    svg = charts.histogram([([], "#0969da")], charts.bin_edges(0, 1, 15), title="t", x_format=_number,
                           count_format=_number)
    assert _rects(svg) == [] and _texts(svg)[-2:] == ["0", "1"]

"""The class dashboard's charts, as small inline SVG written by hand: histograms (stacked, with dashed
threshold lines) and stacked horizontal share bars.

Why not matplotlib, which drew them as PNGs until then: importing it cost 0.5–1 s of CPU and each
figure 60–130 ms more, ~1.9 s for the dashboard's 10 figures (5 per language) at the end of every
`davar grade` batch, its largest fixed cost for a small batch or a regrade.  An SVG in the page is
drawn by the browser (or WeasyPrint) with the page's own font, so its text is shaped there: Persian
words and digits in Vazirmatn, which matplotlib cannot shape.  And the page stays one file with no
PNG to encode.

Each function returns one ``<svg>`` element as `markupsafe.Markup`, every text and attribute value
escaped.  The picture is geometry only: ``direction="ltr"`` (not mirrored on an rtl page), presentation
attributes and no ``<style>`` or ``<script>`` (the page's CSP), sized by its ``viewBox`` and
``width="100%"`` (the page's stylesheet caps the width).  Numbers are formatted by the caller's
functions, in the page's digits; coordinates are rounded to two decimals, so the same data gives the
same bytes.
"""

from __future__ import annotations

import math
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

Format = Callable[[float], str]

WIDTH = 640  # viewBox units; shown at most this many CSS pixels wide (report.css)
FONT_SIZE = 13
TICK = 4  # a tick mark's length
INK = "#1f2328"  # the page's text colour: axes and tick labels
GRID = "#eaeef2"
BAR_EDGE = "#ffffff"  # between adjacent histogram bars
MARGIN_TOP, MARGIN_RIGHT = 10, 24  # room for the top tick label and the last x tick label's right half
MARGIN_BOTTOM = TICK + FONT_SIZE + 8  # the x tick labels


# ---- numbers -------------------------------------------------------------------------------------


def nice_step(span: float, count: int = 5, *, integer: bool = False) -> float:
    """The step, 1, 2 or 5 × 10^k (at least 1 for ``integer``), that cuts ``span`` into the number of
    intervals nearest ``count`` (the smaller step on a tie)."""
    if not span > 0:
        return 1.0
    k = math.floor(math.log10(span / count))
    steps = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1, 2, 5)]
    if integer:
        steps = [s for s in steps if s >= 1] or [1.0]
    return min(steps, key=lambda s: (abs(span / s - count), s))


def ticks(low: float, high: float, count: int = 5, *, integer: bool = False, cover: bool = False) -> list[float]:
    """About ``count`` + 1 "nice" tick values from ``low`` to ``high``: the multiples of `nice_step`
    between them, or with ``cover`` from the one at or below ``low`` to the one at or above ``high``
    (an axis that starts and ends on a tick, as a count axis does)."""
    step = nice_step(high - low, count, integer=integer)
    if cover:
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    else:
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]  # + 0.0: no "-0"


def bin_edges(low: float, high: float, bins: int) -> list[float]:
    """``bins`` equal bins from ``low`` to ``high``: their ``bins`` + 1 edges."""
    return [low + (high - low) * i / bins for i in range(bins + 1)]


def bin_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many ``values`` fall in each bin, as numpy's (and matplotlib's) histogram counts: a bin holds
    its left edge, the last one its right edge too; values outside the edges are not counted."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        i = len(counts) - 1 if value == edges[-1] else bisect_right(edges, value) - 1
        if 0 <= i < len(counts):
            counts[i] += 1
    return counts


# ---- drawing -------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate, rounded to two decimals, without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text_width(text: str) -> float:
    """A rough width of ``text`` in the chart's font (the browser lays it out; this only makes room)."""
    return 0.62 * FONT_SIZE * len(text)


def _bidi(text: str) -> str:
    """A label with right-to-left letters in a first-strong isolate (FSI … PDI): inside the chart's ltr
    text it keeps its own direction ("سوال ۱ (q1)" stays in that order)."""
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in text):
        return f"\u2068{text}\u2069"
    return text


@dataclass(frozen=True)
class _Frame:
    """The plot area inside a `WIDTH` × ``height`` chart, and its data → viewBox mapping."""

    height: float
    left: float
    x0: float
    x1: float
    y0: float = 0.0
    y1: float = 1.0

    @property
    def top(self) -> float:
        return MARGIN_TOP

    @property
    def bottom(self) -> float:
        return self.height - MARGIN_BOTTOM

    @property
    def right(self) -> float:
        return WIDTH - MARGIN_RIGHT

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / ((self.x1 - self.x0) or 1.0) * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - (value - self.y0) / ((self.y1 - self.y0) or 1.0) * (self.bottom - self.top)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, extra: Markup = Markup("")) -> Markup:
    return Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"{}/>').format(
        _n(x1), _n(y1), _n(x2), _n(y2), stroke, extra)


def _rect(x: float, y: float, width: float, height: float, fill: str, extra: Markup = Markup("")) -> Markup:
    return Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{}/>').format(
        _n(x), _n(y), _n(width), _n(height), fill, extra)


def _text(x: float, y: float, text: str, anchor: str) -> Markup:
    return Markup('<text x="{}" y="{}" text-anchor="{}">{}</text>').format(_n(x), _n(y), anchor, text)


def _x_axis(frame: _Frame, values: Sequence[float], fmt: Format) -> tuple[list[Markup], list[Markup]]:
    """Vertical grid lines at ``values`` and, below the plot, the tick marks and their labels."""
    grid = [_line(frame.x(v), frame.top, frame.x(v), frame.bottom, GRID) for v in values]
    marks = [_line(frame.x(v), frame.bottom, frame.x(v), frame.bottom + TICK, INK) for v in values]
    labels = [_text(frame.x(v), frame.bottom + TICK + FONT_SIZE, fmt(v), "middle") for v in values]
    return grid, marks + labels


def _y_labels(frame: _Frame, positions: Sequence[tuple[float, str]]) -> list[Markup]:
    """Tick marks left of the plot and their labels (right-aligned), at viewBox heights."""
    marks = [_line(frame.left - TICK, y, frame.left, y, INK) for y, _ in positions]
    labels = [_text(frame.left - TICK - 3, y + 0.35 * FONT_SIZE, _bidi(text), "end") for y, text in positions]
    return marks + labels


def _left_margin(labels: Sequence[str]) -> float:
    """Room for the y tick labels, at most a third of the chart (a longer label is cut at its edge); at
    least half an x tick label, for the first one."""
    widest = max((_text_width(text) for text in labels), default=0.0)
    return max(20.0, round(min(widest + TICK + 8, WIDTH / 3)))


def _svg(height: float, title: str, grid: list[Markup], marks: list[Markup], axes: list[Markup]) -> Markup:
    """The chart: grid under the marks (bars, lines), axes and labels over them."""
    head = Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="100%" '
                  'role="img" aria-label="{title}" direction="ltr" font-size="{font}" fill="{ink}">'
                  "<title>{title}</title>").format(w=WIDTH, h=_n(height), title=title, font=FONT_SIZE, ink=INK)
    body = [
        Markup('<g class="grid" stroke-width="1">'), *grid, Markup("</g>"),
        Markup('<g class="marks">'), *marks, Markup("</g>"),
        Markup('<g class="axes" stroke-width="1">'), *axes, Markup("</g>"),
    ]
    return head + Markup("\n") + Markup("\n").join(body) + Markup("\n</svg>")


# ---- charts --------------------------------------------------------------------------------------


def histogram(
    series: Sequence[tuple[Sequence[float], str]],
    edges: Sequence[float],
    *,
    title: str,
    x_format: Format,
    count_format: Format,
    height: float = 300,
    lines: Sequence[float] = (),
    line_colour: str = "#cf222e",
) -> Markup:
    """A histogram of each series (values, colour) over the bins between ``edges`` (`bin_counts`), the
    series stacked in order from the baseline up; ``lines``: dashed vertical lines at those x values
    (thresholds).  x spans the edges; y, counts, from 0 to a whole tick at or above the tallest bar."""
    counts = [bin_counts(values, edges) for values, _ in series]
    totals = [sum(column) for column in zip(*counts, strict=True)] if counts else [0]
    y_ticks = ticks(0, max([*totals, 1]), integer=True, cover=True)
    frame = _Frame(height, _left_margin([count_format(t) for t in y_ticks]),
                   x0=edges[0], x1=edges[-1], y1=y_ticks[-1])
    grid, axes = _x_axis(frame, ticks(edges[0], edges[-1]), x_format)
    grid += [_line(frame.left, frame.y(t), frame.right, frame.y(t), GRID) for t in y_ticks]
    axes += _y_labels(frame, [(frame.y(t), count_format(t)) for t in y_ticks])
    marks = []
    below = [0] * (len(edges) - 1)
    edge = Markup(' stroke="{}"').format(BAR_EDGE)
    for (_, colour), column in zip(series, counts, strict=True):
        for i, n in enumerate(column):
            if n:
                left, right = frame.x(edges[i]), frame.x(edges[i + 1])
                top, base = frame.y(below[i] + n), frame.y(below[i])
                marks.append(_rect(left, top, right - left, base - top, colour, edge))
                below[i] += n
    dashed = Markup(' stroke-width="1.5" stroke-dasharray="6 4"')
    marks += [_line(frame.x(x), frame.top, frame.x(x), frame.bottom, line_colour, dashed) for x in lines]
    axes += [_line(frame.left, frame.top, frame.left, frame.bottom, INK),
             _line(frame.left, frame.bottom, frame.right, frame.bottom, INK)]
    return _svg(height, title, grid, marks, axes)


def share_bars(
    rows: Sequence[Sequence[float]],
    colours: Sequence[str],
    labels: Sequence[str] = (),
    *,
    title: str,
    x_format: Format,
    height: float | None = None,
    thickness: float = 0.7,
) -> Markup:
    """Stacked horizontal bars, one per row from the top down, each row's shares (fractions of 1, in the
    order of ``colours``) from the left; x from 0 to 100 %.  ``labels``: each row's, left of its bar (none:
    no row labels).  The height, unless given, grows with the rows (0.38 in a row + 0.9 in, at least 1.6 in,
    at 100 px an inch: the figure's matplotlib had)."""
    if height is None:
        height = round(100 * max(1.6, 0.38 * len(rows) + 0.9))
    frame = _Frame(height, _left_margin(labels), x0=0.0, x1=1.0)
    grid, axes = _x_axis(frame, ticks(0.0, 1.0), x_format)
    band = (frame.bottom - frame.top) / max(len(rows), 1)
    centres = [frame.top + band * (i + 0.5) for i in range(len(rows))]
    marks = []
    for centre, row in zip(centres, rows, strict=True):
        start = 0.0
        for share, colour in zip(row, colours, strict=True):
            if share > 0:
                left, right = frame.x(start), frame.x(start + share)
                marks.append(_rect(left, centre - band * thickness / 2, right - left, band * thickness, colour))
                start += share
    if labels:
        axes += _y_labels(frame, list(zip(centres, labels, strict=True)))
    axes += [_line(frame.left, frame.top, frame.left, frame.bottom, INK),
             _line(frame.left, frame.bottom, frame.right, frame.bottom, INK)]
    return _svg(height, title, grid, marks, axes)

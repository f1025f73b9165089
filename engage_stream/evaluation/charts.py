"""Small inline SVG charts for the HTML report, as geometry: shapes with coordinates and texts.

The charts are plain data here, drawn by the `chart` macro of `templates/charts.html.j2`, so
every text in them (labels, run names, model names) goes through the report's autoescaping
like the rest of the page; nothing here writes markup. No JavaScript, no fonts, no network:
the charts take their font from the page's CSS (`svg text { font-family: inherit }`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from engage_stream.evaluation.metrics import Bin, CdfPoint

RUN_COLOR = "#2563eb"
BASELINE_COLOR = "#94a3b8"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    content: str
    anchor: Literal["start", "middle", "end"] = "start"
    cls: str = ""
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str = ""
    """A tooltip; empty: none."""
    rx: float = 0.0
    kind: Literal["rect"] = "rect"


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: Literal["line"] = "line"


@dataclass(frozen=True, slots=True)
class Curve:
    points: tuple[tuple[float, float], ...]
    stroke: str
    kind: Literal["curve"] = "curve"


@dataclass(frozen=True, slots=True)
class Dot:
    cx: float
    cy: float
    fill: str
    title: str
    r: float = 3.5
    kind: Literal["dot"] = "dot"


Shape = Text | Rect | Line | Curve | Dot


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    width: int
    height: int
    shapes: tuple[Shape, ...]


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def grouped_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[Series],
    unit: str = "",
    width: int = 760,
) -> Chart:
    """Horizontal bars, one group per row and one bar per series (None: not available)."""
    label_w, value_w, bar_h, gap, pad = 250, 70, 13, 3, 10
    group_h = len(series) * (bar_h + gap) + 8
    legend_h = 22
    height = pad + legend_h + len(rows) * group_h + pad
    plot_w = width - label_w - value_w
    top = max((v for _, values in rows for v in values if v is not None), default=0.0) or 1.0
    shapes: list[Shape] = []
    x = float(label_w)
    for s in series:
        shapes.append(Rect(x, pad, 12, 12, s.color, rx=2))
        shapes.append(Text(x + 17, pad + 10, s.name, cls="legend"))
        x += 30 + 7.5 * len(s.name)
    y = float(pad + legend_h)
    for label, values in rows:
        shapes.append(Text(label_w - 8, y + group_h / 2, label, anchor="end", cls="axis"))
        by = y + 2
        for s, value in zip(series, values, strict=False):
            if value is None:
                shapes.append(Text(label_w + 4, by + bar_h - 2, "n/a", cls="muted"))
            else:
                w = max(1.0, plot_w * value / top) if value > 0 else 0.0
                tip = f"{s.name}: {_number(value)}{unit}"
                shapes.append(Rect(label_w, by, w, bar_h, s.color, title=tip, rx=2))
                shapes.append(Text(label_w + w + 5, by + bar_h - 2, _number(value) + unit))
            by += bar_h + gap
        y += group_h
    return Chart(title, width, height, tuple(shapes))


def histogram_chart(title: str, bins: Sequence[Bin], color: str = RUN_COLOR) -> Chart:
    """Counts per latency bin; the overflow bin is drawn last, in grey."""
    width, height = 560, 240
    left, right, top, bottom = 48, 12, 16, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((b.count for b in bins), default=0) or 1
    bar_w = plot_w / max(1, len(bins))
    shapes: list[Shape] = [Line(left, top + plot_h, left + plot_w, top + plot_h)]
    for fraction in (0.5, 1.0):
        gy = top + plot_h * (1 - fraction)
        shapes.append(Line(left, gy, left + plot_w, gy))
        shapes.append(Text(left - 6, gy + 4, f"{peak * fraction:,.0f}", anchor="end", cls="axis"))
    for i, b in enumerate(bins):
        h = plot_h * b.count / peak
        span = (
            f"> {b.low_ms:,.0f} ms" if b.high_ms is None else f"{b.low_ms:,.0f}–{b.high_ms:,.0f} ms"
        )
        shapes.append(
            Rect(
                left + i * bar_w + 1,
                top + plot_h - h,
                max(1.0, bar_w - 2),
                h,
                BASELINE_COLOR if b.high_ms is None else color,
                title=f"{span}: {b.count}",
            )
        )
    step = max(1, len(bins) // 5)
    for i in range(0, len(bins), step):
        b = bins[i]
        label = f">{b.low_ms:,.0f}" if b.high_ms is None else f"{b.low_ms:,.0f}"
        shapes.append(Text(left + i * bar_w, top + plot_h + 16, label, anchor="middle", cls="axis"))
    shapes.append(Text(left + plot_w / 2, height - 8, "milliseconds", anchor="middle", cls="axis"))
    return Chart(title, width, height, tuple(shapes))


def cdf_chart(
    title: str,
    curves: Sequence[tuple[Series, Sequence[CdfPoint]]],
    marks: Sequence[float] = (50, 95, 99),
) -> Chart:
    """Cumulative share of events (y) within a latency (x), one curve per run."""
    width, height = 560, 240
    left, right, top, bottom = 48, 16, 16, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max((p.ms for _, points in curves for p in points), default=0.0)
    low = min(0.0, min((p.ms for _, points in curves for p in points), default=0.0))
    span = (high - low) or 1.0

    def sx(ms: float) -> float:
        return left + plot_w * (ms - low) / span

    def sy(pct: float) -> float:
        return top + plot_h * (1 - pct / 100)

    shapes: list[Shape] = []
    for pct in (0, 50, 100):
        shapes.append(Line(left, sy(pct), left + plot_w, sy(pct)))
        shapes.append(Text(left - 6, sy(pct) + 4, f"{pct}%", anchor="end", cls="axis"))
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        ms = low + span * fraction
        shapes.append(Text(sx(ms), top + plot_h + 16, f"{ms:,.0f}", anchor="middle", cls="axis"))
    shapes.append(Text(left + plot_w / 2, height - 8, "milliseconds", anchor="middle", cls="axis"))
    for series, points in curves:
        if not points:
            continue
        shapes.append(Curve(tuple((sx(p.ms), sy(p.percentile)) for p in points), series.color))
        for mark in marks:
            point = next((p for p in points if p.percentile >= mark), None)
            if point is None:
                continue
            x, y = sx(point.ms), sy(point.percentile)
            shapes.append(Dot(x, y, series.color, f"{series.name} p{mark:g}: {point.ms:,.1f} ms"))
            shapes.append(Text(x + 6, y + 12, f"p{mark:g} {point.ms:,.0f} ms", cls="axis"))
    return Chart(title, width, height, tuple(shapes))


@dataclass(frozen=True, slots=True)
class IntervalRow:
    label: str
    value: float
    low: float
    high: float
    color: str
    text: str
    """What the row says at its end: the value and its interval, formatted."""


def interval_chart(title: str, rows: Sequence[IntervalRow], width: int = 760) -> Chart:
    """One row per arm: a bar from the interval's low to its high end and a dot at the
    estimate, on a common scale from 0 (rates are shares in [0, 1], drawn in percent)."""
    label_w, text_w, row_h, pad, axis_h = 150, 190, 26, 10, 22
    height = pad + len(rows) * row_h + axis_h + pad
    plot_w = width - label_w - text_w
    highest = max((r.high for r in rows), default=0.0)
    top = min(1.0, max(1, math.ceil(highest * 20)) / 20)  # the next 5 points up

    def sx(value: float) -> float:
        return label_w + plot_w * max(0.0, min(value, top)) / top

    bottom = pad + len(rows) * row_h
    shapes: list[Shape] = [Line(label_w, bottom, label_w + plot_w, bottom)]
    for fraction in (0.0, 0.5, 1.0):
        x = label_w + plot_w * fraction
        shapes.append(Line(x, pad, x, bottom))
        shapes.append(Text(x, bottom + 15, f"{100 * top * fraction:.3g}%", "middle", "axis"))
    y = float(pad)
    for row in rows:
        middle = y + row_h / 2
        shapes.append(Text(label_w - 8, middle + 4, row.label, anchor="end", cls="axis"))
        low, high = sx(row.low), sx(row.high)
        shapes.append(Rect(low, middle - 3, max(1.0, high - low), 6, row.color, row.text, rx=3))
        shapes.append(Dot(sx(row.value), middle, row.color, row.text, r=5))
        shapes.append(Text(label_w + plot_w + 10, middle + 4, row.text))
        y += row_h
    return Chart(title, width, height, tuple(shapes))

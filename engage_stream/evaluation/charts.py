"""Small inline SVG charts for the HTML report: no JavaScript, no fonts, no network.

Every text that goes into a chart is escaped here; the charts take their font from the
page's CSS (`svg text { font-family: inherit }`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from engage_stream.evaluation.metrics import Bin, CdfPoint

RUN_COLOR = "#2563eb"
BASELINE_COLOR = "#94a3b8"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _text(x: float, y: float, content: str, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(content)}</text>'


def grouped_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[Series],
    unit: str = "",
    width: int = 760,
) -> str:
    """Horizontal bars, one group per row and one bar per series (None: not available)."""
    label_w, value_w, bar_h, gap, pad = 250, 70, 13, 3, 10
    group_h = len(series) * (bar_h + gap) + 8
    legend_h = 22
    height = pad + legend_h + len(rows) * group_h + pad
    plot_w = width - label_w - value_w
    top = max((v for _, values in rows for v in values if v is not None), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    x = float(label_w)
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{pad}" width="12" height="12" rx="2" fill="{escape(s.color)}"/>'
        )
        parts.append(_text(x + 17, pad + 10, s.name, cls="legend"))
        x += 30 + 7.5 * len(s.name)
    y = float(pad + legend_h)
    for label, values in rows:
        parts.append(_text(label_w - 8, y + group_h / 2, label, anchor="end", cls="axis"))
        by = y + 2
        for s, value in zip(series, values, strict=False):
            if value is None:
                parts.append(_text(label_w + 4, by + bar_h - 2, "n/a", cls="muted"))
            else:
                w = max(1.0, plot_w * value / top) if value > 0 else 0.0
                parts.append(
                    f'<rect x="{label_w}" y="{by:.1f}" width="{w:.1f}" height="{bar_h}" '
                    f'rx="2" fill="{escape(s.color)}"><title>{escape(s.name)}: '
                    f"{escape(_number(value))}{escape(unit)}</title></rect>"
                )
                parts.append(_text(label_w + w + 5, by + bar_h - 2, _number(value) + unit))
            by += bar_h + gap
        y += group_h
    parts.append("</svg>")
    return "".join(parts)


def histogram_chart(title: str, bins: Sequence[Bin], color: str = RUN_COLOR) -> str:
    """Counts per latency bin; the overflow bin is drawn last, hatched grey."""
    width, height = 560, 240
    left, right, top, bottom = 48, 12, 16, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((b.count for b in bins), default=0) or 1
    bar_w = plot_w / max(1, len(bins))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'class="grid"/>',
    ]
    for fraction in (0.5, 1.0):
        gy = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" y1="{gy:.1f}" x2="{left + plot_w}" y2="{gy:.1f}" class="grid"/>'
        )
        parts.append(_text(left - 6, gy + 4, f"{peak * fraction:,.0f}", anchor="end", cls="axis"))
    for i, b in enumerate(bins):
        h = plot_h * b.count / peak
        x = left + i * bar_w
        fill = BASELINE_COLOR if b.high_ms is None else color
        span = (
            f"> {b.low_ms:,.0f} ms" if b.high_ms is None else f"{b.low_ms:,.0f}–{b.high_ms:,.0f} ms"
        )
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(1.0, bar_w - 2):.1f}" '
            f'height="{h:.1f}" fill="{fill}"><title>{escape(span)}: {b.count}</title></rect>'
        )
    step = max(1, len(bins) // 5)
    for i in range(0, len(bins), step):
        b = bins[i]
        label = f">{b.low_ms:,.0f}" if b.high_ms is None else f"{b.low_ms:,.0f}"
        parts.append(_text(left + i * bar_w, top + plot_h + 16, label, anchor="middle", cls="axis"))
    parts.append(_text(left + plot_w / 2, height - 8, "milliseconds", anchor="middle", cls="axis"))
    parts.append("</svg>")
    return "".join(parts)


def cdf_chart(
    title: str,
    curves: Sequence[tuple[Series, Sequence[CdfPoint]]],
    marks: Sequence[float] = (50, 95, 99),
) -> str:
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

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 50, 100):
        parts.append(
            f'<line x1="{left}" y1="{sy(pct):.1f}" x2="{left + plot_w}" y2="{sy(pct):.1f}" '
            'class="grid"/>'
        )
        parts.append(_text(left - 6, sy(pct) + 4, f"{pct}%", anchor="end", cls="axis"))
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        ms = low + span * fraction
        parts.append(_text(sx(ms), top + plot_h + 16, f"{ms:,.0f}", anchor="middle", cls="axis"))
    parts.append(_text(left + plot_w / 2, height - 8, "milliseconds", anchor="middle", cls="axis"))
    for series, points in curves:
        if not points:
            continue
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(p.ms):.1f},{sy(p.percentile):.1f}"
            for i, p in enumerate(points)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="{escape(series.color)}" stroke-width="2"/>'
        )
        for mark in marks:
            point = next((p for p in points if p.percentile >= mark), None)
            if point is None:
                continue
            parts.append(
                f'<circle cx="{sx(point.ms):.1f}" cy="{sy(point.percentile):.1f}" r="3.5" '
                f'fill="{escape(series.color)}"><title>{escape(series.name)} p{mark:g}: '
                f"{point.ms:,.1f} ms</title></circle>"
            )
            parts.append(
                _text(
                    sx(point.ms) + 6,
                    sy(point.percentile) + 12,
                    f"p{mark:g} {point.ms:,.0f} ms",
                    cls="axis",
                )
            )
    parts.append("</svg>")
    return "".join(parts)

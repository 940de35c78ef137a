"""Charts as self-contained inline SVG strings: no plotting library, no script, no network.

Every function is pure (data in, markup out) so it is unit-tested directly. Values are drawn in
the units the caller gives (the caller puts them in the axis label); ticks are "nice" numbers
(1, 2, 2.5, 5 × 10^k). Each chart carries ``role="img"``, a ``<title>`` and a ``data-chart``
attribute naming its kind, so a report can be checked for its plots without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

#: Colour-blind-safe palette (Okabe & Ito 2008), used in this order for series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'"
AXIS = "#555"
GRID = "#e3e3e3"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (lo < hi after widening a flat range)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = [round(start, 12)]
    while ticks[-1] < hi - step * 1e-9 and len(ticks) < 50:
        ticks.append(round(start + len(ticks) * step, 12))
    return ticks


def fmt_num(v: float) -> str:
    """A short label for a tick or a bar: 3 significant digits, no trailing zeros."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.2e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.3g}"


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for evenly spaced ticks with just enough decimals to tell them apart."""
    if len(ticks) < 2:
        return [fmt_num(t) for t in ticks]
    step = abs(ticks[1] - ticks[0])
    big = max(abs(t) for t in ticks)
    if step == 0 or big >= 1e6 or big < 1e-3:
        return [fmt_num(t) for t in ticks]
    decimals = max(
        0,
        -math.floor(math.log10(step))
        + (0 if round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5) else 1),
    )
    return [f"{t:.{decimals}f}" for t in ticks]


def _open(width: int, height: int, kind: str, title: str) -> list[str]:
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='100%' role='img' data-chart={quoteattr(kind)} aria-label={quoteattr(title)} "
        f"{FONT} font-size='12'>",
        f"<title>{escape(title)}</title>",
    ]


def _empty(width: int, height: int, kind: str, title: str, message: str) -> str:
    parts = _open(width, height, kind, title)
    parts.append(
        f"<text x='{width / 2:.0f}' y='{height / 2:.0f}' text-anchor='middle' fill='{AXIS}'>"
        f"{escape(message)}</text></svg>"
    )
    return "".join(parts)


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 300,
    bands: Sequence[tuple[float, float, str]] = (),
) -> str:
    """One polyline per series of (x, y) points; ``bands`` shade x-intervals (phases) with a
    label. Points with a non-finite coordinate are skipped."""
    clean = {
        name: [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
        for name, pts in series.items()
    }
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        return _empty(width, height, "line", title, "no power samples were recorded")
    left, right, top, bottom = 64, 16, 28, 46
    legend_h = 18 * ((len(clean) + 2) // 3) + 18
    height += legend_h
    xs = (
        [x for pts in clean.values() for x, _ in pts]
        + [b[0] for b in bands]
        + [b[1] for b in bands]
    )
    ys = [y for pts in clean.values() for _, y in pts]
    xt = nice_ticks(min(xs), max(xs))
    yt = nice_ticks(min(0.0, min(ys)), max(ys))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = width - left - right, height - top - bottom - legend_h

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    out = _open(width, height, "line", title)
    for i, (a, b, label) in enumerate(bands):
        fill = "#f4f7fb" if i % 2 == 0 else "#fbf6ee"
        out.append(
            f"<rect x='{sx(a):.1f}' y='{top}' width='{max(0.5, sx(b) - sx(a)):.1f}' "
            f"height='{ph}' fill='{fill}'/>"
            f"<text x='{(sx(a) + sx(b)) / 2:.1f}' y='{top - 8}' text-anchor='middle' "
            f"fill='{AXIS}' font-size='11'>{escape(label)}</text>"
        )
    out += _axes(xt, yt, sx, sy, left, top, pw, ph, x_label, y_label)
    for i, (name, pts) in enumerate(clean.items()):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(
            f"<polyline data-series={quoteattr(name)} fill='none' stroke='{colour}' "
            f"stroke-width='1.8' points='{path}'/>"
        )
    out += _legend(list(clean), left, top + ph + 54, width)
    out.append("</svg>")
    return "".join(out)


def _axes(
    xt: Sequence[float],
    yt: Sequence[float],
    sx: object,
    sy: object,
    left: int,
    top: int,
    pw: float,
    ph: float,
    x_label: str | None,
    y_label: str,
) -> list[str]:
    assert callable(sx) and callable(sy)
    out = []
    for y, label in zip(yt, tick_labels(yt), strict=True):
        out.append(
            f"<line x1='{left}' x2='{left + pw:.1f}' y1='{sy(y):.1f}' y2='{sy(y):.1f}' "
            f"stroke='{GRID}'/><text x='{left - 6}' y='{sy(y) + 4:.1f}' text-anchor='end' "
            f"fill='{AXIS}'>{label}</text>"
        )
    if x_label is not None:
        for x, label in zip(xt, tick_labels(xt), strict=True):
            out.append(
                f"<text x='{sx(x):.1f}' y='{top + ph + 16:.1f}' text-anchor='middle' "
                f"fill='{AXIS}'>{label}</text>"
            )
        out.append(
            f"<text x='{left + pw / 2:.1f}' y='{top + ph + 32:.1f}' text-anchor='middle' "
            f"fill='{AXIS}'>{escape(x_label)}</text>"
        )
    out.append(
        f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + ph:.1f}' stroke='{AXIS}'/>"
        f"<line x1='{left}' x2='{left + pw:.1f}' y1='{top + ph:.1f}' y2='{top + ph:.1f}' "
        f"stroke='{AXIS}'/>"
        f"<text transform='translate(14 {top + ph / 2:.1f}) rotate(-90)' text-anchor='middle' "
        f"fill='{AXIS}'>{escape(y_label)}</text>"
    )
    return out


def _legend(names: Sequence[str], left: int, y: float, width: int) -> list[str]:
    out = []
    col_w = (width - left - 16) / 3
    for i, name in enumerate(names):
        cx = left + (i % 3) * col_w
        cy = y + 18 * (i // 3)
        colour = PALETTE[i % len(PALETTE)]
        label = name if len(name) <= 40 else name[:39] + "…"
        out.append(
            f"<rect x='{cx:.1f}' y='{cy - 9:.1f}' width='12' height='10' fill='{colour}'/>"
            f"<text x='{cx + 16:.1f}' y='{cy:.1f}' fill='#222'>{escape(label)}</text>"
        )
    return out


@dataclass(frozen=True)
class Bar:
    """One bar: a label, its value, an optional note shown after the value, a highlight."""

    label: str
    value: float
    note: str = ""
    highlight: bool = False


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    unit: str,
    width: int = 760,
    bar_h: int = 20,
) -> str:
    """Horizontal bars, one per row, from zero; highlighted bars are drawn in the accent colour
    and their label in bold (e.g. the run's own location)."""
    rows = [b for b in bars if math.isfinite(b.value)]
    if not rows:
        return _empty(width, 80, "bar", title, "no data")
    label_w, right, top = 290, 130, 10
    height = top + len(rows) * (bar_h + 6) + 40
    vmax = max(0.0, max(b.value for b in rows))
    xt = nice_ticks(0.0, vmax if vmax > 0 else 1.0)
    pw = width - label_w - right

    def sx(v: float) -> float:
        return label_w + v / xt[-1] * pw

    out = _open(width, height, "bar", title)
    for x in xt:
        out.append(
            f"<line x1='{sx(x):.1f}' x2='{sx(x):.1f}' y1='{top}' "
            f"y2='{height - 30}' stroke='{GRID}'/><text x='{sx(x):.1f}' y='{height - 16}' "
            f"text-anchor='middle' fill='{AXIS}'>{fmt_num(x)}</text>"
        )
    out.append(
        f"<text x='{label_w + pw / 2:.1f}' y='{height - 2}' text-anchor='middle' "
        f"fill='{AXIS}'>{escape(unit)}</text>"
    )
    for i, b in enumerate(rows):
        y = top + i * (bar_h + 6)
        colour = PALETTE[3] if b.highlight else PALETTE[0]
        weight = " font-weight='bold'" if b.highlight else ""
        label = b.label if len(b.label) <= 44 else b.label[:43] + "…"
        value = f"{fmt_num(b.value)}{(' ' + b.note) if b.note else ''}"
        out.append(
            f"<text x='{label_w - 6}' y='{y + bar_h * 0.7:.1f}' text-anchor='end' "
            f"fill='#222'{weight}>{escape(label)}</text>"
            f"<rect data-label={quoteattr(b.label)} data-value='{b.value:.6g}' "
            f"x='{label_w}' y='{y}' width='{max(0.0, sx(max(0.0, b.value)) - label_w):.1f}' "
            f"height='{bar_h}' fill='{colour}'/>"
            f"<text x='{sx(max(0.0, b.value)) + 4:.1f}' y='{y + bar_h * 0.7:.1f}' "
            f"fill='#222'>{escape(value)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def stacked_bar(
    parts: Sequence[tuple[str, float]], *, title: str, unit: str, width: int = 760
) -> str:
    """One horizontal bar split into ``parts`` (label, value >= 0), with a legend giving each
    part's value and share of the total."""
    rows = [(k, v) for k, v in parts if math.isfinite(v) and v > 0]
    total = sum(v for _, v in rows)
    if total <= 0:
        return _empty(width, 80, "stacked", title, "no energy recorded")
    left, top, bar_h = 16, 12, 34
    height = top + bar_h + 22 + 20 * len(rows)
    pw = width - 2 * left
    out = _open(width, height, "stacked", title)
    x = float(left)
    for i, (k, v) in enumerate(rows):
        w = v / total * pw
        out.append(
            f"<rect data-label={quoteattr(k)} data-value='{v:.6g}' x='{x:.1f}' y='{top}' "
            f"width='{w:.1f}' height='{bar_h}' fill='{PALETTE[i % len(PALETTE)]}'/>"
        )
        x += w
    for i, (k, v) in enumerate(rows):
        y = top + bar_h + 22 + 20 * i
        out.append(
            f"<rect x='{left}' y='{y - 10}' width='12' height='10' "
            f"fill='{PALETTE[i % len(PALETTE)]}'/><text x='{left + 18}' y='{y}' fill='#222'>"
            f"{escape(k)}: {fmt_num(v)} {escape(unit)} ({v / total:.0%})</text>"
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Point:
    """A labelled point of a scatter plot; ``front`` joins the frontier line, ``ring`` marks it."""

    label: str
    x: float
    y: float
    front: bool = False
    ring: bool = False


def scatter_chart(
    points: Sequence[Point],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 360,
) -> str:
    """Labelled points; frontier points joined by a line in x order; ringed points marked."""
    pts = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if not pts:
        return _empty(width, height, "scatter", title, "no variants were measured")
    left, right, top, bottom = 84, 110, 16, 46
    xt = nice_ticks(min(p.x for p in pts), max(p.x for p in pts))
    yt = nice_ticks(min(p.y for p in pts), max(p.y for p in pts))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    out = _open(width, height, "scatter", title)
    out += _axes(xt, yt, sx, sy, left, top, pw, ph, x_label, y_label)
    front = sorted((p for p in pts if p.front), key=lambda p: p.x)
    if len(front) > 1:
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in front)
        out.append(
            f"<polyline data-role='frontier' fill='none' stroke='{PALETTE[2]}' "
            f"stroke-width='1.5' stroke-dasharray='5 3' points='{path}'/>"
        )
    for i, p in enumerate(pts):
        colour = PALETTE[2] if p.front else PALETTE[0]
        out.append(
            f"<circle data-label={quoteattr(p.label)} cx='{sx(p.x):.1f}' cy='{sy(p.y):.1f}' "
            f"r='5' fill='{colour}'/>"
        )
        if p.ring:
            out.append(
                f"<circle cx='{sx(p.x):.1f}' cy='{sy(p.y):.1f}' r='10' fill='none' "
                f"stroke='{PALETTE[3]}' stroke-width='2'/>"
            )
        dy = -8 if i % 2 == 0 else 16
        near_right = sx(p.x) > left + pw * 0.75
        anchor, dx = ("end", -8) if near_right else ("start", 8)
        out.append(
            f"<text x='{sx(p.x) + dx:.1f}' y='{sy(p.y) + dy:.1f}' text-anchor='{anchor}' "
            f"fill='#222' font-size='11'>{escape(p.label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)

"""Charts as self-contained inline SVG strings: no plotting library, no script, no network.

All of wattwise's plotting lives here (the report's charts and ``wattwise optimize --plot``).
Every function is pure (data in, markup out) so it is unit-tested directly. Values are drawn in
the units the caller gives (the caller puts them in the axis label); ticks are "nice" numbers
(1, 2, 2.5, 5 × 10^k), on a log axis (1, 2, 5 × 10^k) where a scatter's values span more than
``LOG_SPAN`` ×. Text is laid out from estimated glyph widths (:func:`text_width`, DejaVu Sans
metrics, rounded up) so legend entries, phase names and point labels never overlap; a point
label sits by its own dot or is joined to it by a leader line. Text and axes use
``currentColor`` so the page's colour scheme (light or dark) applies. Each chart carries
``role="img"``, a ``<title>`` and a ``data-chart`` attribute naming its kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from wattwise.report.chartlayout import (
    DOT_HALF,
    SIZE,
    SMALL,
    Box,
    Scale,
    clusters,
    fit,
    fmt_num,
    nice_ticks,
    place_labels,
    scale_for,
    text_box,
    text_width,
    thin_labels,
)

#: The ring around a recommended point: radius, and the half-size its label keeps clear of
#: (radius + the 2-unit stroke's outer half + a margin).
RING_R = 10.0
RING_HALF = RING_R + 2.0
#: Colour-blind-safe palette (Okabe & Ito 2008), used in this order for series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'"
INK = "fill='currentColor'"
GRID = "stroke='currentColor' stroke-opacity='0.14'"
AXIS = "stroke='currentColor' stroke-opacity='0.6'"
def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' {INK}{extra}>"
        f"{escape(text)}</text>"
    )


# --------------------------------------------------------------------------- scales


def _open(width: float, height: float, kind: str, title: str) -> list[str]:
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} {height:.0f}' "
        f"width='100%' role='img' data-chart={quoteattr(kind)} aria-label={quoteattr(title)} "
        f"{FONT} font-size='{SIZE}'>",
        f"<title>{escape(title)}</title>",
    ]


def _empty(width: int, height: int, kind: str, title: str, message: str) -> str:
    parts = _open(width, height, kind, title)
    parts.append(_text(width / 2, height / 2, message, anchor="middle") + "</svg>")
    return "".join(parts)


def _axes(
    xs: Scale | None, ys: Scale, left: float, top: float, pw: float, ph: float,
    x_label: str | None, y_label: str,
) -> list[str]:  # fmt: skip
    out = []
    for y, label in zip(ys.ticks, ys.labels, strict=True):
        out.append(
            f"<line x1='{left}' x2='{left + pw:.1f}' y1='{ys(y):.1f}' y2='{ys(y):.1f}' {GRID}/>"
            + _text(left - 6, ys(y) + 4, label, anchor="end")
        )
    if xs is not None and x_label is not None:
        for x, label in thin_labels(xs):
            out.append(_text(x, top + ph + 20, label, anchor="middle"))
        scale = " (log scale)" if xs.log else ""
        out.append(_text(left + pw / 2, top + ph + 36, x_label + scale, anchor="middle"))
    out.append(
        f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + ph:.1f}' {AXIS}/>"
        f"<line x1='{left}' x2='{left + pw:.1f}' y1='{top + ph:.1f}' y2='{top + ph:.1f}' {AXIS}/>"
        f"<text transform='translate(14 {top + ph / 2:.1f}) rotate(-90)' text-anchor='middle' "
        f"{INK}>{escape(y_label + (' (log scale)' if ys.log else ''))}</text>"
    )
    return out


# --------------------------------------------------------------------------- line chart


def _legend(names: Sequence[str], left: float, y: float, width: float) -> tuple[list[str], float]:
    """Legend entries flowed left to right, wrapping; returns the markup and its height."""
    out, x, row, avail = [], left, 0, width - left - 16
    for i, name in enumerate(names):
        label = fit(name, avail - 18)
        w = 18 + text_width(label) + 20
        if x > left and x + w > left + avail:
            x, row = left, row + 1
        cy = y + 20 * row
        out.append(
            f"<rect x='{x:.1f}' y='{cy - 10:.1f}' width='12' height='10' "
            f"fill='{PALETTE[i % len(PALETTE)]}'/>" + _text(x + 16, cy, label)
        )
        x += w
    return out, 20.0 * (row + 1)


def _band_labels(
    bands: Sequence[tuple[float, float, str]], sx: Scale
) -> list[tuple[float, int, str]]:
    """(x, row, text) of each phase name on row 0 or 1 above the plot so that none overlaps;
    a name with no free spot on either row is cut to its band's width (the phase table below
    the chart has every name)."""
    placed: list[tuple[float, int, str, Box]] = []
    for a, b, label in bands:
        options = [(row, label) for row in (0, 1)]
        options.append((0, fit(label, max(0.0, sx(b) - sx(a)), SMALL)))
        for row, text in options:
            half = text_width(text, SMALL) / 2 + 1  # kept over the plot, clear of the y ticks
            cx = min(max((sx(a) + sx(b)) / 2, sx.a + half), sx.b - half)
            box = text_box(cx, -16.0 * row, text, SMALL, "middle")
            if text != "…" and not any(box.hits(p[3], 4) for p in placed):
                placed.append((cx, row, text, box))
                break
    return [(x, row, t) for x, row, t, _ in placed]


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
    left, right, bottom = 64, 16, 46
    xs_all = [x for pts in clean.values() for x, _ in pts] + [v for b in bands for v in b[:2]]
    ys_all = [y for pts in clean.values() for _, y in pts]
    pw = width - left - right
    sx = Scale(tuple(nice_ticks(min(xs_all), max(xs_all))), left, left + pw)
    labels = _band_labels(bands, sx)
    top = 28 + 16 * max((row for _, row, _ in labels), default=0)
    ph = height - 28 - bottom
    legend, legend_h = _legend(list(clean), left, top + ph + bottom + 14, width)
    total_h = top + ph + bottom + legend_h + 8
    sy = Scale(tuple(nice_ticks(min(0.0, min(ys_all)), max(ys_all))), top + ph, top)
    out = _open(width, total_h, "line", title)
    for i, (a, b, _label) in enumerate(bands):
        out.append(
            f"<rect x='{sx(a):.1f}' y='{top}' width='{max(0.5, sx(b) - sx(a)):.1f}' "
            f"height='{ph}' fill='currentColor' fill-opacity='{0.04 if i % 2 == 0 else 0.09}'/>"
        )
    for x, row, text in labels:
        out.append(
            _text(x, top - 8 - 16 * row, text, anchor="middle", extra=f" font-size='{SMALL}'")
        )
    out += _axes(sx, sy, left, top, pw, ph, x_label, y_label)
    for i, (name, pts) in enumerate(clean.items()):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(
            f"<polyline data-series={quoteattr(name)} fill='none' "
            f"stroke='{PALETTE[i % len(PALETTE)]}' stroke-width='1.8' points='{path}'/>"
        )
    out += legend
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- bars


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
    """Horizontal bars, one per row, from zero (lengths stay proportional to the values, so
    the axis is linear; each bar carries its value); highlighted bars are drawn in the accent
    colour and their label in bold (e.g. the run's own location)."""
    rows = [b for b in bars if math.isfinite(b.value)]
    if not rows:
        return _empty(width, 80, "bar", title, "no data")
    values = [f"{fmt_num(b.value)}{(' ' + b.note) if b.note else ''}" for b in rows]
    right = min(260.0, max(text_width(v) for v in values) + 16)
    label_w = min(290.0, max(text_width(b.label) for b in rows) * 1.08 + 12)
    top = 10
    height = top + len(rows) * (bar_h + 6) + 40
    vmax = max(0.0, max(b.value for b in rows))
    pw = width - label_w - right
    sx = Scale(tuple(nice_ticks(0.0, vmax if vmax > 0 else 1.0)), label_w, label_w + pw)
    out = _open(width, height, "bar", title)
    for x in sx.ticks:
        x1 = f"{sx(x):.1f}"
        out.append(f"<line x1='{x1}' x2='{x1}' y1='{top}' y2='{height - 30}' {GRID}/>")
    for x, label in thin_labels(sx):
        out.append(_text(x, height - 18, label, anchor="middle"))
    out.append(_text(label_w + pw / 2, height - 2, fit(unit, width - 20), anchor="middle"))
    for i, (b, value) in enumerate(zip(rows, values, strict=True)):
        y = top + i * (bar_h + 6)
        colour = PALETTE[3] if b.highlight else PALETTE[0]
        weight = " font-weight='bold'" if b.highlight else ""
        end = sx(max(0.0, b.value))
        out.append(
            _text(label_w - 6, y + bar_h * 0.7, fit(b.label, label_w - 12), anchor="end",
                  extra=weight)
            + f"<rect data-label={quoteattr(b.label)} data-value='{b.value:.6g}' "
            f"x='{label_w:.1f}' y='{y}' width='{max(0.0, end - label_w):.1f}' "
            f"height='{bar_h}' fill='{colour}'/>"
            + _text(end + 4, y + bar_h * 0.7, fit(value, width - end - 8))
        )
    out.append("</svg>")
    return "".join(out)


def stacked_bar(
    parts: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str,
    width: int = 760,
    fmt: Callable[[float], str] | None = None,
) -> str:
    """One horizontal bar split into ``parts`` (label, value >= 0), with a legend giving each
    part's value (``fmt``, else the number and ``unit``) and share of the total."""
    rows = [(k, v) for k, v in parts if math.isfinite(v) and v > 0]
    total = sum(v for _, v in rows)
    if total <= 0:
        return _empty(width, 80, "stacked", title, "no energy recorded")
    show = fmt or (lambda v: f"{fmt_num(v)} {unit}")
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
            f"fill='{PALETTE[i % len(PALETTE)]}'/>"
            + _text(left + 18, y, fit(f"{k}: {show(v)} ({v / total:.0%})", pw - 18))
        )
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- scatter


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
    height: int = 380,
) -> str:
    """Labelled points (log axes where the values span > ``LOG_SPAN`` ×); frontier points
    joined by a dashed line in x order when there are two or more; ringed points marked."""
    pts = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if not pts:
        return _empty(width, height, "scatter", title, "no variants were measured")
    left, right, top, bottom = 84, 24, 16, 50
    pw, ph = width - left - right, height - top - bottom
    sx = scale_for([p.x for p in pts], left + 10, left + pw - 10)
    sy = scale_for([p.y for p in pts], top + ph - 10, top + 10)
    out = _open(width, height, "scatter", title)
    out += _axes(sx, sy, left, top, pw, ph, x_label, y_label)
    front = sorted((p for p in pts if p.front), key=lambda p: p.x)
    if len(front) > 1:
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in front)
        out.append(
            f"<polyline data-role='frontier' fill='none' stroke='{PALETTE[2]}' "
            f"stroke-width='1.5' stroke-dasharray='5 3' points='{path}'/>"
        )
    dots = [(sx(p.x), sy(p.y), p.label) for p in pts]
    area = Box(left + 2, top + 2, left + pw - 2, top + ph - 2)
    for p, (x, y, _) in zip(pts, dots, strict=True):
        colour = PALETTE[2] if p.front else PALETTE[0]
        out.append(
            f"<circle data-label={quoteattr(p.label)} cx='{x:.1f}' cy='{y:.1f}' r='5' "
            f"fill='{colour}'/>"
        )
        if p.ring:
            out.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{RING_R:g}' fill='none' "
                f"stroke='{PALETTE[3]}' stroke-width='2'/>"
            )
    groups = clusters(dots)
    halves = [RING_HALF if p.ring else DOT_HALF for p in pts]
    labels = place_labels(dots, area, groups, halves)
    for g, (lx, ly, anchor, text, lead) in zip(groups, labels, strict=True):
        names = quoteattr("|".join(pts[k].label for k in g))  # dots that coincide: one label
        if lead is not None:
            cx, cy = sum(dots[k][0] for k in g) / len(g), sum(dots[k][1] for k in g) / len(g)
            out.append(
                f"<line data-point={names} x1='{cx:.1f}' y1='{cy:.1f}' "
                f"x2='{lead[0]:.1f}' y2='{lead[1]:.1f}' {AXIS}/>"
            )
        out.append(
            _text(lx, ly, text, anchor=anchor, extra=f" font-size='{SMALL}' data-point={names}")
        )
    out.append("</svg>")
    return "".join(out)


def scatter_caption(points: Sequence[Point]) -> str:
    """What :func:`scatter_chart` draws for ``points``, in words (only marks that are drawn)."""
    pts = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if not pts:
        return "No variant was measured."
    parts = ["green dots are on the Pareto frontier (no other variant is better beyond noise)"]
    if sum(p.front for p in pts) > 1:
        parts.append("the dashed line joins them")
    if any(p.ring for p in pts):
        parts.append("the ring marks the recommended variant")
    logs = [n for n, vs in (("x", [p.x for p in pts]), ("y", [p.y for p in pts]))
            if scale_for(vs, 0, 1).log]  # fmt: skip
    if logs:
        parts.append(f"the {' and '.join(logs)} axis is logarithmic (values span > 10×)")
    return "; ".join(parts) + "."


def pareto_points(lab: Mapping[str, Any]) -> list[Point]:
    """The lab document's variants (:meth:`LabResult.to_dict`) as points: mJ per token at
    batch 1 (x), held-out perplexity (y), frontier and recommended flags."""
    return [
        Point(str(v["name"]), float(v["j_per_token"]) * 1e3, float(v["perplexity"]),
              bool(v.get("pareto")), bool(v.get("recommended")))
        for v in lab.get("variants", [])
        if isinstance(v.get("j_per_token"), float | int)
        and isinstance(v.get("perplexity"), float | int)
    ]


def pareto_chart(lab: Mapping[str, Any], title: str | None = None) -> str:
    """The lab's energy-vs-perplexity chart (the report's and ``wattwise optimize --plot``)."""
    return scatter_chart(
        pareto_points(lab),
        title=title or "Energy per token vs perplexity (Pareto frontier)",
        x_label="energy per generated token, batch 1 (mJ)",
        y_label="held-out perplexity",
    )


def standalone(markup: str) -> str:
    """A chart as a file of its own (``.svg``): its viewBox size as width and height (not
    100 % of a page) and a white background, so any viewer shows it at a readable size."""
    box = markup[markup.index("viewBox='") + 9 :].split("'", 1)[0].split()
    w, h = box[2], box[3]
    head, rest = markup.split(">", 1)
    head = head.replace("width='100%'", f"width='{w}' height='{h}'")
    return f"{head}><rect width='100%' height='100%' fill='#fff'/>{rest}\n"

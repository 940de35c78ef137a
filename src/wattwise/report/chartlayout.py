"""Layout of chart text and scales, without markup: estimated text widths, boxes, nice and
log ticks, scales, and the placement of point labels so that none overlaps another or sits by
the wrong dot. Used by :mod:`wattwise.report.svg` (all the plotting lives there). User units;
glyph widths are DejaVu Sans metrics (the default sans font of Debian's Chromium), rounded up
so estimates err on the wide side.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from wattwise.units import format_number

SIZE = 12  # font size (user units) of every chart text but point labels
SMALL = 11
#: A scatter axis whose values span more than this factor is drawn on a log scale.
LOG_SPAN = 10.0

_NARROW = set("ijl.,:;'!|()[]{}/\\ f t r")
_WIDE = set("mwMW%@")


def text_width(text: str, size: float = SIZE) -> float:
    """Estimated advance width of ``text`` (user units) at ``size``: DejaVu Sans glyph widths
    (the default sans font of Debian's Chromium), rounded up so estimates err on the wide side."""
    em = 0.0
    for ch in text:
        if ch in _WIDE:
            em += 1.0
        elif ch in _NARROW:
            em += 0.42
        elif ch.isupper() or ch.isdigit():
            em += 0.74
        else:
            em += 0.66
    return em * size


def fit(text: str, width: float, size: float = SIZE) -> str:
    """``text`` cut (with an ellipsis) to at most ``width`` user units."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in user units (l < r, t < b)."""

    l: float  # noqa: E741
    t: float
    r: float
    b: float

    def hits(self, o: Box, pad: float = 1.5) -> bool:
        return not (
            self.r + pad <= o.l or o.r + pad <= self.l or self.b + pad <= o.t or o.b + pad <= self.t
        )


def text_box(x: float, y: float, text: str, size: float = SIZE, anchor: str = "start") -> Box:
    """The box of ``text`` drawn at (x, y) (baseline) with ``anchor``."""
    w = text_width(text, size)
    left = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
    return Box(left, y - 0.95 * size, left + w, y + 0.28 * size)


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


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks 1, 2, 5 × 10^k from the one at or below ``lo`` to the one at or above ``hi``
    (only powers of ten when that gives at least three)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1.0,) if k1 - k0 > 3 else (1.0, 2.0, 5.0)
    every = [m * 10.0**k for k in range(k0, k1 + 1) for m in steps]
    below = max(t for t in every if t <= lo * (1 + 1e-9))
    above = min(t for t in every if t >= hi * (1 - 1e-9))
    return [round(t, 12) for t in every if below <= t <= above]


def fmt_num(v: float) -> str:
    """A short label for a tick or a bar: 3 significant digits, grouped, never e-notation."""
    return format_number(v)


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for ticks with just enough decimals to tell them apart."""
    if len(ticks) < 2:
        return [fmt_num(t) for t in ticks]
    step = float(f"{min(abs(b - a) for a, b in itertools.pairwise(ticks)):.6g}")  # no fp noise
    if step <= 0:
        return [fmt_num(t) for t in ticks]
    decimals = max(0, -math.floor(math.log10(step)))
    if round(step / 10 ** math.floor(math.log10(step)), 6) not in (1, 2, 5):
        decimals += 1
    big = max(abs(t) for t in ticks)
    group = "," if big >= 1000 else ""
    return ["0" if t == 0 else f"{t:{group}.{decimals}f}" for t in ticks]


@dataclass(frozen=True)
class Scale:
    """A linear or log axis from ``ticks[0]`` to ``ticks[-1]`` onto [a, b] user units."""

    ticks: tuple[float, ...]
    a: float
    b: float
    log: bool = False

    def __call__(self, v: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        if self.log:
            f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo)
        return self.a + f * (self.b - self.a)

    @property
    def labels(self) -> list[str]:
        return [fmt_num(t) for t in self.ticks] if self.log else tick_labels(self.ticks)


def thin_labels(scale: Scale, gap: float = 8.0) -> list[tuple[float, str]]:
    """(position, label) of the x ticks to label: every k-th tick, k the least that keeps
    neighbouring labels ``gap`` apart (all ticks keep their grid line)."""
    pos = [scale(t) for t in scale.ticks]
    labels = scale.labels
    if len(pos) < 2:
        return list(zip(pos, labels, strict=True))
    spacing = abs(pos[1] - pos[0])
    widest = max(text_width(lb) for lb in labels)
    k = max(1, math.ceil((widest + gap) / spacing)) if spacing > 0 else len(pos)
    return [(p, lb) for i, (p, lb) in enumerate(zip(pos, labels, strict=True)) if i % k == 0]


def scale_for(values: Sequence[float], a: float, b: float, *, zero: bool = False) -> Scale:
    """A log scale when the (positive) values span more than ``LOG_SPAN`` ×, else linear
    (from zero when ``zero``)."""
    lo, hi = min(values), max(values)
    if not zero and lo > 0 and hi / lo > LOG_SPAN:
        return Scale(tuple(log_ticks(lo, hi)), a, b, log=True)
    return Scale(tuple(nice_ticks(min(0.0, lo) if zero else lo, hi)), a, b)


#: Where a point label may go, relative to its dot: (dx, dy, anchor), nearest first.
_SPOTS: tuple[tuple[float, float, str], ...] = (
    (9, 4, "start"), (-9, 4, "end"), (0, -10, "middle"), (0, 17, "middle"),
    (7, -8, "start"), (-7, -8, "end"), (7, 15, "start"), (-7, 15, "end"),
)  # fmt: skip
_LEADS = tuple(
    (round(d * math.cos(a), 1), round(d * math.sin(a), 1))
    for d in (30, 46, 62, 80)
    for a in [k * math.pi / 8 for k in range(16)]
)


def _seg_dist(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b``."""
    (ax, ay), (bx, by), (px, py) = a, b, p
    dx, dy = bx - ax, by - ay
    n = dx * dx + dy * dy
    t = 0.0 if n == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / n))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def clusters(dots: Sequence[tuple[float, float, str]], within: float = 10.0) -> list[list[int]]:
    """Indices of dots grouped when closer than ``within`` user units (single linkage): dots
    that coincide at the chart's scale share one label, which no placement could tell apart."""
    groups: list[list[int]] = []
    for i, (x, y, _) in enumerate(dots):
        near = [g for g in groups if any(math.hypot(x - dots[j][0], y - dots[j][1]) < within
                                         for j in g)]  # fmt: skip
        merged = [i] + [j for g in near for j in g]
        groups = [g for g in groups if g not in near] + [sorted(merged)]
    return sorted(groups)


#: Half the side of the box a plain dot occupies (its r = 5 circle and a margin).
DOT_HALF = 6.0


def place_labels(
    dots: Sequence[tuple[float, float, str]],
    area: Box,
    groups: Sequence[Sequence[int]] = (),
    halves: Sequence[float] = (),
) -> list[tuple[float, float, str, str, tuple[float, float] | None]]:
    """(x, y, anchor, text, leader end or None) per group of dots (default: one per dot): a
    label that overlaps no other label or dot and is nearer its own dots than any other; else
    one joined to the group's centre by a leader line that passes no other dot. A group's
    label lists its names (" · "). ``halves``: each dot's half-size when it is larger than a
    plain dot (a ring around it): its label keeps clear of it too."""
    groups = [list(g) for g in groups] or [[i] for i in range(len(dots))]
    half = list(halves) or [DOT_HALF] * len(dots)
    marks = [Box(x - h, y - h, x + h, y + h) for (x, y, _), h in zip(dots, half, strict=True)]
    placed: list[Box] = []
    out: list[tuple[float, float, str, str, tuple[float, float] | None]] = []

    def free(box: Box, own: Sequence[int]) -> bool:
        inside = box.l >= area.l and box.r <= area.r and box.t >= area.t and box.b <= area.b
        return (
            inside
            and not any(box.hits(p, 3) for p in placed)
            and not any(box.hits(m, 1) for j, m in enumerate(marks) if j not in own)
        )

    def gap(box: Box, x: float, y: float) -> float:
        return math.hypot(max(box.l - x, 0, x - box.r), max(box.t - y, 0, y - box.b))

    Placed = tuple[float, float, str, str, tuple[float, float] | None]
    for g in groups:
        x = sum(dots[j][0] for j in g) / len(g)
        y = sum(dots[j][1] for j in g) / len(g)
        text = " · ".join(dots[j][2] for j in g)
        spread = max(math.hypot(dots[j][0] - x, dots[j][1] - y) for j in g)
        spread += max(half[j] for j in g) - DOT_HALF  # clear of a ring around its own dot
        chosen: Placed | None = None
        for dx, dy, anchor in _SPOTS:
            dx += math.copysign(spread, dx) if dx else 0.0
            dy += math.copysign(spread, dy) if dy else 0.0
            box = text_box(x + dx, y + dy, text, SMALL, anchor)
            mine = gap(box, x, y)
            if free(box, g) and all(
                gap(box, ox, oy) > mine + 2 for j, (ox, oy, _) in enumerate(dots) if j not in g
            ):
                chosen = (x + dx, y + dy, anchor, text, None)
                break
        others = [(ox, oy) for j, (ox, oy, _) in enumerate(dots) if j not in g]
        # leaders: best, one that passes no other dot to a label by no other dot; then one
        # that passes no other dot; then any free spot
        for near_ok, pass_ok in ((12.0, 8.0), (0.0, 8.0), (0.0, 0.0)):
            if chosen is not None:
                break
            for dx, dy in _LEADS:
                anchor = "start" if dx > 4 else "end" if dx < -4 else "middle"
                box = text_box(x + dx, y + dy + 4, text, SMALL, anchor)
                end = (min(max(x, box.l), box.r), min(max(y, box.t), box.b))
                if (
                    free(box, g)
                    and all(_seg_dist((x, y), end, o) > pass_ok for o in others)
                    and all(gap(box, ox, oy) > near_ok for ox, oy in others)
                ):
                    chosen = (x + dx, y + dy + 4, anchor, text, end)
                    break
        if chosen is None:  # nowhere free: beside the dot (the layout test would flag it)
            chosen = (x + 9, y + 4, "start", text, None)
        bx = text_box(chosen[0], chosen[1], text, SMALL, chosen[2])
        placed.append(bx)
        out.append(chosen)
    return out



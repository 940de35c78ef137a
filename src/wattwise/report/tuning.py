"""The report's power-tuning section: what ``wattwise tune`` measured for the audited command.

:func:`profile_chart` plots energy and time per step against the GPU power limit, two panels
over one x axis (the style of :mod:`wattwise.report.svg`: inline SVG, ``currentColor`` text,
the Okabe & Ito palette), the default limit and the chosen one marked; the table beside it has
every setting's figures. Shown only when the audit document has a ``power_profile``
(:mod:`wattwise.audit.power`); the CPU frequency settings follow when known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from wattwise.core.documents import AuditDocument
from wattwise.report.chartlayout import Scale, nice_ticks, text_width
from wattwise.report.markup import num
from wattwise.report.powerrules import measured_evidence
from wattwise.report.svg import PALETTE, _axes, _open, _text
from wattwise.report.templating import render, trusted

#: (key in a profile setting, axis label, factor from the stored unit to the drawn one)
PANELS = (
    ("energy_per_step_j", "energy per {unit} (J)", 1.0),
    ("time_per_step_s", "time per {unit} (ms)", 1e3),
)


def _points(
    settings: Sequence[Mapping[str, Any]], key: str, factor: float
) -> list[tuple[float, float]]:
    pts = []
    for s in settings:
        x, y = s.get("power_limit_w"), s.get(key)
        numbers = isinstance(x, int | float) and isinstance(y, int | float)
        if numbers and math.isfinite(float(x or 0)) and math.isfinite(float(y or 0) * factor):
            pts.append((float(x or 0), float(y or 0) * factor))
    return sorted(pts)


def _same(a: Mapping[str, Any] | None, w: float) -> bool:
    v = (a or {}).get("power_limit_w")
    return isinstance(v, int | float) and abs(float(v) - w) < 1e-9


def profile_chart(profile: Mapping[str, Any], width: int = 760) -> str:
    """Energy and time per step against the power limit (W), one panel each."""
    unit = str(profile.get("unit") or "step")
    settings = [s for s in profile.get("settings") or [] if isinstance(s, Mapping)]
    title = f"Energy and time per {unit} against the GPU power limit ({profile.get('gpu_model')})"
    panels = [(label.format(unit=unit), _points(settings, k, f)) for k, label, f in PANELS]
    xs_all = [x for _, pts in panels for x, _ in pts]
    left, right, ph, gap = 72, 16, 130, 24
    if not xs_all:
        empty = _open(width, 120, "tuning", title)
        return "".join([*empty, _text(width / 2, 60, "no setting was measured", anchor="middle"),
                        "</svg>"])  # fmt: skip
    pw = width - left - right
    sx = Scale(tuple(nice_ticks(min(xs_all), max(xs_all))), left + 8, left + pw - 8)
    top0 = 16
    out: list[str] = []
    for i, (label, pts) in enumerate(panels):
        top = top0 + i * (ph + gap)
        ys = [y for _, y in pts] or [0.0, 1.0]
        sy = Scale(tuple(nice_ticks(min(ys), max(ys))), top + ph - 8, top + 8)
        last = i == len(panels) - 1
        out += _axes(sx, sy, left, top, pw, ph, "GPU power limit (W)" if last else None, label)
        out.append(
            f"<polyline data-series={_q(label)} fill='none' stroke='{PALETTE[0]}' "
            f"stroke-width='1.8' points='{' '.join(f'{sx(x):.1f},{sy(y):.1f}' for x, y in pts)}'/>"
        )
        for x, y in pts:
            colour = PALETTE[2] if _same(profile.get("chosen"), x) else PALETTE[0]
            out.append(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='4' fill='{colour}'/>")
            if _same(profile.get("default"), x):
                out.append(
                    f"<circle data-role='default' cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='8' "
                    f"fill='none' stroke='{PALETTE[3]}' stroke-width='2'/>"
                )
    bottom = top0 + len(panels) * ph + (len(panels) - 1) * gap + 46
    x, legend = float(left), []
    marks = (
        ("measured setting", f"fill='{PALETTE[0]}'"),
        ("chosen limit", f"fill='{PALETTE[2]}'"),
        ("GPU default limit", f"fill='none' stroke='{PALETTE[3]}' stroke-width='2'"),
    )
    for name, paint in marks:
        legend.append(
            f"<circle cx='{x + 6:.1f}' cy='{bottom + 10:.1f}' r='5' {paint}/>"
            + _text(x + 16, bottom + 14, name)
        )
        x += 16 + text_width(name) + 20
    legend_h = 20.0
    head = _open(width, bottom + legend_h + 8, "tuning", title)
    return "".join([*head, *out, *legend, "</svg>"])


def _q(text: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(text)


def tuning_section(doc: AuditDocument) -> str:
    """The section (empty when the audit has no tuning profile)."""
    profile = doc.get("power_profile")
    if not isinstance(profile, dict):
        return ""
    rows = [
        [
            num(s.get("power_limit_w")),
            num(s.get("sm_clock_mhz")) if s.get("sm_clock_mhz") is not None else "—",
            num(s.get("energy_per_step_j")),
            num((s.get("time_per_step_s") or 0.0) * 1e3),
            num(s.get("steps")),
            "chosen" if s == profile.get("chosen") else (
                "default" if s == profile.get("default") else ""),
        ]
        for s in profile.get("settings") or []
        if isinstance(s, dict)
    ]  # fmt: skip
    cf = doc.get("cpufreq") or {}
    return render(
        "tuning.html",
        svg=trusted(profile_chart(profile)),
        evidence=measured_evidence(profile),
        unit=profile.get("unit") or "step",
        rows=rows,
        cpufreq=[str(s) for s in cf.get("summary") or []],
    )

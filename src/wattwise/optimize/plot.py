"""The Pareto frontier (energy per token vs perplexity) as a self-contained SVG (no plotting
library needed)."""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape

W, H, PAD = 640, 420, 60


def frontier_svg(doc: dict[str, Any]) -> str:
    """SVG of every variant (mJ per token at batch 1 on x, perplexity on y), the frontier as a
    line, the recommended variant ringed."""
    pts = [
        (v["j_per_token"] * 1e3, v["perplexity"], v)
        for v in doc["variants"]
        if isinstance(v.get("j_per_token"), int | float)
        and isinstance(v.get("perplexity"), int | float)
        and math.isfinite(v["j_per_token"])
        and math.isfinite(v["perplexity"])
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">'
        f"{escape(doc['model'])}: energy per token vs perplexity ({escape(doc['provenance'])})"
        "</text>",
    ]
    if not pts:
        out.append("</svg>")
        return "\n".join(out)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, x1 = 0.0, max(xs) * 1.1
    y0, y1 = min(ys) * 0.95, max(ys) * 1.05
    if y1 <= y0:
        y1 = y0 + 1

    def sx(x: float) -> float:
        return float(PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD))

    def sy(y: float) -> float:
        return float(H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD))

    out.append(f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="black"/>')
    out.append(f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="black"/>')
    out.append(
        f'<text x="{W / 2}" y="{H - 20}" text-anchor="middle">mJ per generated token '
        "(batch 1)</text>"
    )
    out.append(
        f'<text x="15" y="{H / 2}" transform="rotate(-90 15 {H / 2})" '
        'text-anchor="middle">held-out perplexity</text>'
    )
    for i in range(5):
        xv = x0 + (x1 - x0) * i / 4
        yv = y0 + (y1 - y0) * i / 4
        out.append(
            f'<text x="{sx(xv):.1f}" y="{H - PAD + 15}" text-anchor="middle">{xv:.3g}</text>'
        )
        out.append(f'<text x="{PAD - 5}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.3g}</text>')
    front = sorted((p for p in pts if p[2].get("pareto")), key=lambda p: p[0])
    if len(front) > 1:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in front)
        out.append(f'<polyline points="{path}" fill="none" stroke="#2a7" stroke-width="2"/>')
    for x, y, v in pts:
        color = "#2a7" if v.get("pareto") else "#888"
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{color}"/>')
        if v.get("recommended"):
            out.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="8" fill="none" '
                'stroke="#c30" stroke-width="2"/>'
            )
        out.append(f'<text x="{sx(x) + 7:.1f}" y="{sy(y) - 6:.1f}">{escape(v["name"])}</text>')
    out.append("</svg>")
    return "\n".join(out)

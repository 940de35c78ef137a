"""The report section of a serving benchmark (``wattwise bench serve``; the result document
stored in the run's ``extra["bench"]``): energy per output token against p95 inter-token
latency, one point per configuration (the Pareto frontier joined, the recommended one ringed),
and a table of every configuration with the estimator's figure beside the measured one when the
benchmark was given ``--params`` and ``--hardware``. The power timeline with one shaded band
per configuration's window is the run's own timeline section."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from wattwise.report import svg
from wattwise.report.markup import Badge, Cell, num
from wattwise.report.templating import render, trusted


def _xy(c: Mapping[str, Any]) -> tuple[float, float] | None:
    itl = (c.get("itl_ms") or {}).get("p95")
    j = c.get("j_per_output_token")
    if isinstance(itl, int | float) and isinstance(j, int | float) and math.isfinite(itl * j):
        return float(itl), float(j) * 1e3
    return None


def frontier(points: Sequence[tuple[str, float, float]]) -> set[str]:
    """Names of the points no other point beats on both axes (lower is better on both)."""
    return {
        n for n, x, y in points
        if not any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for _, x2, y2 in points)
    }  # fmt: skip


def serving_points(bench: Mapping[str, Any]) -> list[svg.Point]:
    """One point per configuration: p95 inter-token latency (ms, x), mJ per output token (y)."""
    pts = [(str(c["name"]), *xy) for c in bench.get("configs", []) if (xy := _xy(c))]
    front = frontier(pts)
    rec = (bench.get("recommended") or {}).get("name")
    return [svg.Point(n, x, y, n in front, n == rec) for n, x, y in pts]


def _estimate_cell(c: Mapping[str, Any]) -> str:
    est = c.get("estimate")
    if not est:
        return "—"
    node = est["j_per_output_token_node"]
    return f"{num(node['value'])} J ({num(node['low'])}–{num(node['high'])})"


def serving_section(bench: Mapping[str, Any]) -> str:
    """The section's HTML for the benchmark document ``bench``."""
    chart = svg.scatter_chart(
        serving_points(bench),
        title="Energy per output token vs inter-token latency (p95)",
        x_label="inter-token latency, p95 (ms)",
        y_label="energy per output token (mJ)",
    )
    rows: list[list[Cell]] = []
    for c in bench.get("configs", []):
        r = c["requests"]
        rows.append([
            str(c["name"]), f"{r['ok']}/{r['sent']}", num(c.get("j_per_output_token")),
            _estimate_cell(c), num(c.get("output_tokens_per_s")),
            num((c.get("ttft_ms") or {}).get("p95")), num((c.get("itl_ms") or {}).get("p95")),
            num((c.get("e2e_ms") or {}).get("p95")), num(c.get("mean_power_w")),
            Badge(c["provenance"]["energy"]),
            f"{c['window']['kind']} {num(c['window']['duration_s'])} s",
        ])  # fmt: skip
    rec = bench.get("recommended") or {}
    has_estimate = any(c.get("estimate") for c in bench.get("configs", []))
    return render("serving.html", svg=trusted(chart), rows=rows,
                  model=str(bench.get("model", "")), url=str(bench.get("url", "")),
                  recommended=rec.get("name"), reason=str(rec.get("reason", "")),
                  has_estimate=has_estimate)  # fmt: skip

"""The inline SVG charts: valid XML, one mark per datum, scales that cover the data."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

from wattwise.report import svg

NS = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # well-formed, escaped
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert root.find(f"{NS}title") is not None
    return root


def test_nice_ticks_cover_the_range() -> None:
    for lo, hi in ((0, 4.4), (40.63, 40.66), (0, 1e-5), (3, 3), (-2, 7.5)):
        t = svg.nice_ticks(lo, hi)
        assert t[0] <= lo and t[-1] >= hi and 2 <= len(t) <= 12
        steps = {round(b - a, 9) for a, b in itertools.pairwise(t)}
        assert len(steps) == 1  # evenly spaced
    labels = svg.tick_labels(svg.nice_ticks(40.63, 40.66))
    assert len(set(labels)) == len(labels)  # narrow ranges still get distinct labels


def test_line_chart_one_polyline_per_series_inside_the_plot() -> None:
    series = {
        "GPU <0>": [(0.0, 50.0), (1.0, 300.0), (2.0, 280.0)],
        "CPU": [(0.0, 20.0), (2.0, 25.0)],
        "empty": [(1.0, math.nan)],
    }  # fmt: skip
    root = _parse(svg.line_chart(series, title="t", x_label="s", y_label="W",
                                 bands=[(0.0, 1.0, "train")]))  # fmt: skip
    lines = root.findall(f"{NS}polyline")
    assert [p.get("data-series") for p in lines] == ["GPU <0>", "CPU"]
    gpu = [tuple(map(float, xy.split(","))) for xy in lines[0].get("points", "").split()]
    assert len(gpu) == 3
    assert gpu[1][1] < gpu[0][1]  # higher power is drawn higher (smaller y)
    assert all(0 <= x <= 760 and y >= 0 for x, y in gpu)
    assert "train" in "".join(root.itertext())


def test_line_chart_without_samples_says_so() -> None:
    root = _parse(svg.line_chart({}, title="t", x_label="s", y_label="W"))
    assert "no power samples" in "".join(root.itertext())


def test_bar_chart_lengths_proportional_and_highlight() -> None:
    bars = [svg.Bar("here", 10.0, "g", True), svg.Bar("clean", 2.5), svg.Bar("dirty", 20.0)]
    root = _parse(svg.bar_chart(bars, title="t", unit="g"))
    rects = {r.get("data-label"): r for r in root.iter(f"{NS}rect") if r.get("data-label")}
    w = {k: float(r.get("width", "0")) for k, r in rects.items()}
    assert math.isclose(w["here"] / w["clean"], 4.0, rel_tol=0.02)
    assert math.isclose(w["dirty"] / w["here"], 2.0, rel_tol=0.02)
    assert rects["here"].get("fill") != rects["clean"].get("fill")


def test_stacked_bar_shares() -> None:
    root = _parse(svg.stacked_bar([("CPU", 30.0), ("memory", 10.0), ("none", 0.0)],
                                  title="t", unit="J"))  # fmt: skip
    rects = [r for r in root.iter(f"{NS}rect") if r.get("data-label")]
    assert [r.get("data-label") for r in rects] == ["CPU", "memory"]
    assert math.isclose(float(rects[0].get("width", 0)) / float(rects[1].get("width", 1)), 3.0,
                        rel_tol=0.01)  # fmt: skip
    assert "75%" in "".join(root.itertext())


def test_scatter_frontier_and_ring() -> None:
    pts = [svg.Point("baseline", 4.0, 40.0, True), svg.Point("int8", 2.0, 41.0, True, True),
           svg.Point("bad", 5.0, 45.0)]  # fmt: skip
    root = _parse(svg.scatter_chart(pts, title="t", x_label="mJ", y_label="ppl"))
    frontier = [p for p in root.iter(f"{NS}polyline") if p.get("data-role") == "frontier"]
    assert len(frontier) == 1 and len(frontier[0].get("points", "").split()) == 2
    labelled = [c.get("data-label") for c in root.iter(f"{NS}circle") if c.get("data-label")]
    assert labelled == ["baseline", "int8", "bad"]
    assert len(list(root.iter(f"{NS}circle"))) == 4  # three points + one ring

"""The inline SVG charts: valid XML, one mark per datum, scales that cover the data."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from wattwise.report import chartlayout as layout
from wattwise.report import svg

NS = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # well-formed, escaped
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert root.find(f"{NS}title") is not None
    return root


def test_nice_ticks_cover_the_range() -> None:
    for lo, hi in ((0, 4.4), (40.63, 40.66), (0, 1e-5), (3, 3), (-2, 7.5)):
        t = layout.nice_ticks(lo, hi)
        assert t[0] <= lo and t[-1] >= hi and 2 <= len(t) <= 12
        steps = {round(b - a, 9) for a, b in itertools.pairwise(t)}
        assert len(steps) == 1  # evenly spaced
    labels = layout.tick_labels(layout.nice_ticks(40.63, 40.66))
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


def _text_boxes(root: ET.Element) -> list[tuple[str, layout.Box]]:
    """Estimated boxes of every horizontal <text> (x, y, anchor, font size from the markup)."""
    out = []
    for t in root.iter(f"{NS}text"):
        if t.get("transform"):
            continue  # the rotated axis label
        size = float(t.get("font-size") or layout.SIZE)
        text = "".join(t.itertext())
        box = layout.text_box(float(t.get("x", 0)), float(t.get("y", 0)), text, size,
                              t.get("text-anchor") or "start")  # fmt: skip
        out.append((text, box))
    return out


def _no_overlap(root: ET.Element) -> None:
    boxes = _text_boxes(root)
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        assert not ba.hits(bb, 0), f"{a!r} overlaps {b!r}"


def test_timeline_legend_labels_of_long_device_names_do_not_overlap() -> None:
    names = ["NVIDIA A100-SXM4-80GB <0> (NVML total energy)", "CPU package-0 (RAPL, measured)",
             "DRAM of package-0 (RAPL intel-rapl:0:0)", "CPU package-1 (RAPL, measured)"]
    series = {n: [(0.0, 10.0 * i), (60.0, 12.0 * i)] for i, n in enumerate(names, 1)}
    bands = [(0.0, 0.4, "load"), (0.4, 0.9, "warm-up"), (0.9, 60.0, "generate")]
    _no_overlap(_parse(svg.line_chart(series, title="t", x_label="s", y_label="W",
                                      bands=bands)))  # fmt: skip


def _lab_points() -> list[svg.Point]:
    return [svg.Point("baseline", 10.0, 40.0), svg.Point("int8-dynamic", 19.0, 39.99),
            svg.Point("speculative", 6.1, 40.0, True),
            svg.Point("speculative+compiled", 5.9, 40.0, True, True),
            svg.Point("distill", 4.0, 52.0, True), svg.Point("combined", 300.0, 47.0)]  # fmt: skip


def test_pareto_labels_do_not_overlap_and_each_sits_by_its_own_dot() -> None:
    root = _parse(svg.scatter_chart(_lab_points(), title="t", x_label="mJ", y_label="ppl"))
    _no_overlap(root)
    dots = {c.get("data-label"): (float(c.get("cx", 0)), float(c.get("cy", 0)))
            for c in root.iter(f"{NS}circle") if c.get("data-label")}  # fmt: skip
    leads = {ln.get("data-point"): ln for ln in root.iter(f"{NS}line") if ln.get("data-point")}
    labelled: list[str] = []
    for t in root.iter(f"{NS}text"):
        key = t.get("data-point")
        if key is None:
            continue
        own = key.split("|")  # dots that coincide at this scale share one label
        labelled += own
        assert "".join(t.itertext()) == " · ".join(own)
        if key in leads:  # joined to its dots by a leader line that starts at their centre
            ln = leads[key]
            cx = sum(dots[n][0] for n in own) / len(own)
            cy = sum(dots[n][1] for n in own) / len(own)
            assert math.hypot(float(ln.get("x1", 0)) - cx, float(ln.get("y1", 0)) - cy) < 0.2
            continue
        size = float(t.get("font-size") or layout.SIZE)
        box = layout.text_box(float(t.get("x", 0)), float(t.get("y", 0)), "".join(t.itertext()),
                              size, t.get("text-anchor") or "start")  # fmt: skip

        def gap(p: tuple[float, float], b: layout.Box = box) -> float:
            return math.hypot(max(b.l - p[0], 0, p[0] - b.r), max(b.t - p[1], 0, p[1] - b.b))

        assert min(dots, key=lambda k: gap(dots[k])) in own, own
    assert sorted(labelled) == sorted(dots)  # every dot is named exactly once


def test_scatter_uses_a_log_axis_when_values_span_more_than_ten_times() -> None:
    root = _parse(svg.scatter_chart(_lab_points(), title="t", x_label="mJ", y_label="ppl"))
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{NS}text"))
    assert "mJ (log scale)" in text and "ppl (log scale)" not in text  # 4-300 vs 40-52
    xs = {c.get("data-label"): float(c.get("cx", 0)) for c in root.iter(f"{NS}circle")
          if c.get("data-label")}  # fmt: skip
    # on a log axis, equal ratios are equal distances: 5.9 -> 10 is not squashed against 300
    assert xs["baseline"] - xs["distill"] > 0.1 * (xs["combined"] - xs["distill"])
    narrow = [svg.Point("a", 4.0, 40.0), svg.Point("b", 9.0, 41.0)]
    root = _parse(svg.scatter_chart(narrow, title="t", x_label="mJ", y_label="ppl"))
    assert "log scale" not in " ".join("".join(t.itertext()) for t in root.iter(f"{NS}text"))


def test_pareto_caption_mentions_only_the_marks_that_are_drawn() -> None:
    one = [svg.Point("baseline", 10.0, 40.0, True), svg.Point("int8", 19.0, 39.99)]
    root = _parse(svg.scatter_chart(one, title="t", x_label="mJ", y_label="ppl"))
    assert not [p for p in root.iter(f"{NS}polyline") if p.get("data-role") == "frontier"]
    caption = svg.scatter_caption(one)
    assert "dashed" not in caption and "ring" not in caption
    both = svg.scatter_caption(_lab_points())
    assert "dashed line" in both and "ring" in both and "logarithmic" in both


def test_chart_numbers_are_never_in_e_notation() -> None:
    bars = [svg.Bar("SE", 1.95e-6, "EUR"), svg.Bar("PL", 2.5e-6, "EUR"),
            svg.Bar("big", 2.21e7, "J")]  # fmt: skip
    text = " ".join("".join(t.itertext()) for t in _parse(
        svg.bar_chart(bars, title="t", unit="x")).iter(f"{NS}text"))  # fmt: skip
    assert "e-" not in text and "e+" not in text and "22,100,000" in text


def test_lab_plot_file_is_the_report_chart_at_a_readable_fixed_size() -> None:
    lab = {"variants": [{"name": "baseline", "j_per_token": 0.01, "perplexity": 40.0,
                         "pareto": True, "recommended": True}]}  # fmt: skip
    root = _parse(svg.standalone(svg.pareto_chart(lab, "m: energy per token")))
    assert root.get("width") == "760" and root.get("data-chart") == "scatter"
    assert [c.get("data-label") for c in root.iter(f"{NS}circle") if c.get("data-label")] == [
        "baseline"
    ]


def test_axis_labels_of_tiny_values_and_an_offset_origin_do_not_overlap() -> None:
    # a real tiny audit: costs of 1e-7 EUR (long tick labels) and a timeline from 0.02 s
    bars = [svg.Bar(f"place {i}", 1.3e-7 * i, "EUR") for i in range(1, 6)]
    _no_overlap(_parse(svg.bar_chart(bars, title="t", unit="EUR")))
    series = {"CPU estimate": [(0.02, 0.0), (0.06, 9.0), (0.1, 10.0)]}
    _no_overlap(_parse(svg.line_chart(series, title="t", x_label="s", y_label="W",
                                      bands=[(0.02, 0.07, "finetune"),
                                             (0.07, 0.1, "generate")])))  # fmt: skip


def test_a_leader_line_never_runs_through_another_dot() -> None:
    # a real tiny audit: three variants within 3 mJ of each other at the same perplexity
    pts = [svg.Point("baseline", 5.13, 40.6422), svg.Point("speculative", 6.01, 40.6422),
           svg.Point("speculative+compiled", 3.18, 40.6422, True, True),
           svg.Point("compiled", 17.7, 40.6422), svg.Point("int8-dynamic", 19.4, 40.6314),
           svg.Point("pruned-structured", 20.4, 40.6594)]  # fmt: skip
    root = _parse(svg.scatter_chart(pts, title="t", x_label="mJ", y_label="ppl"))
    _no_overlap(root)
    dots = {c.get("data-label"): (float(c.get("cx", 0)), float(c.get("cy", 0)))
            for c in root.iter(f"{NS}circle") if c.get("data-label")}  # fmt: skip
    for ln in (ln for ln in root.iter(f"{NS}line") if ln.get("data-point")):
        a = (float(ln.get("x1", 0)), float(ln.get("y1", 0)))
        b = (float(ln.get("x2", 0)), float(ln.get("y2", 0)))
        for name, p in dots.items():
            if name not in ln.get("data-point", "").split("|"):
                assert layout._seg_dist(a, b, p) > 5, (ln.get("data-point"), name)
    labels = [t for t in root.iter(f"{NS}text") if t.get("data-point")]
    assert "0000" not in " ".join("".join(t.itertext()) for t in root.iter(f"{NS}text"))
    assert sum(len((t.get("data-point") or "").split("|")) for t in labels) == len(pts)


NAMES = ("baseline", "int8-dynamic", "int4-weight", "prune-structured", "prune-unstructured-50%",
         "distill", "combined", "speculative", "compiled", "speculative+compiled")  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 400), st.floats(20, 80), st.booleans()),
                min_size=1, max_size=len(NAMES)))  # fmt: skip
def test_no_two_scatter_texts_overlap_whatever_the_variants(
    values: list[tuple[float, float, bool]],
) -> None:
    pts = [svg.Point(NAMES[i], x, y, front) for i, (x, y, front) in enumerate(values)]
    root = _parse(svg.scatter_chart(pts, title="t", x_label="mJ", y_label="ppl"))
    _no_overlap(root)
    named = [n for t in root.iter(f"{NS}text") if t.get("data-point")
             for n in (t.get("data-point") or "").split("|")]  # fmt: skip
    assert sorted(named) == sorted(p.label for p in pts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 50), min_size=1, max_size=12),
       st.lists(st.text("abcdefgh -()<>0123456789", min_size=1, max_size=48),
                min_size=1, max_size=8, unique=True))  # fmt: skip
def test_no_two_timeline_texts_overlap_whatever_the_phases_and_devices(
    phase_s: list[float], devices: list[str]
) -> None:
    edges = [0.0, *itertools.accumulate(phase_s)]
    bands = [(a, b, f"phase {i}") for i, (a, b) in enumerate(itertools.pairwise(edges))]
    series = {d: [(0.0, 10.0 + i), (edges[-1], 20.0 + i)] for i, d in enumerate(devices)}
    _no_overlap(_parse(svg.line_chart(series, title="t", x_label="s", y_label="W",
                                      bands=bands)))  # fmt: skip

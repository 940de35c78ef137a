"""The serving section of a report: the Pareto frontier and points from a result document."""

from __future__ import annotations

from typing import Any

from wattwise.report.serving import frontier, serving_points, serving_section


def config(name: str, itl_p95: float | None, j: float | None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "itl_ms": {"p95": itl_p95}, "j_per_output_token": j,
            "ttft_ms": {"p95": 10.0}, "e2e_ms": {"p95": 100.0}, "output_tokens_per_s": 5.0,
            "mean_power_w": 10.0, "requests": {"ok": 4, "sent": 4},
            "provenance": {"energy": "estimated"},
            "window": {"kind": "steady", "duration_s": 2.0}, **extra}  # fmt: skip


def test_frontier_keeps_points_no_other_beats_on_both_axes() -> None:
    pts = [("a", 10.0, 5.0), ("b", 20.0, 2.0), ("c", 25.0, 3.0), ("d", 10.0, 6.0)]
    assert frontier(pts) == {"a", "b"}


def test_points_skip_configurations_without_energy_and_ring_the_recommended() -> None:
    doc = {"configs": [config("c=1", 10.0, 0.2), config("c=8", 30.0, 0.05),
                       config("c=64", None, None)],
           "recommended": {"name": "c=8", "reason": "lowest"}}  # fmt: skip
    pts = serving_points(doc)
    assert [(p.label, p.x, p.y, p.front, p.ring) for p in pts] == [
        ("c=1", 10.0, 200.0, True, False), ("c=8", 30.0, 50.0, True, True)]
    est = {"j_per_output_token_node": {"value": 0.1, "low": 0.05, "high": 0.2}}
    doc["configs"][0]["estimate"] = est
    html = serving_section(doc)
    assert "0.1 J (0.05–0.2)" in html and "Recommended: <strong>c=8</strong>" in html
    assert "--params N --hardware NAME" not in html

"""The scale of an audit of a serving endpoint (``wattwise audit --serve-url``), on
constructed benchmark documents: per request at the recommended configuration's measured
J/request, the whole run (noted) when none was recommended; and its recommendation rule."""

from __future__ import annotations

from typing import Any

import pytest

from wattwise.accounting.context import resolve_context
from wattwise.accounting.runs import footprint_of
from wattwise.audit import serving
from wattwise.audit.analysis import DAYS_PER_YEAR
from wattwise.core.provenance import Provenance
from wattwise.core.run import ComponentEnergy, RunResult, WindowResult
from wattwise.report.servingrule import rule_serving_config
from wattwise.units import j_to_kwh

URL = "http://gpu-host:8000/v1"


def _config(name: str, conc: int, j_tok: float | None, out_tokens: float, failed: int = 0,
            provenance: str = "measured") -> dict[str, Any]:  # fmt: skip
    """One configuration as :func:`wattwise.bench.summary.config_doc` writes it (the keys the
    audit reads)."""
    return {
        "name": name, "concurrency": conc, "rate_per_s": None,
        "requests": {"sent": 32, "ok": 32 - failed, "failed": failed},
        "j_per_output_token": j_tok, "mean_output_tokens": out_tokens,
        "j_per_request": None if j_tok is None else j_tok * out_tokens,
        "output_tokens_per_s": 100.0 * conc, "ttft_ms": {"p95": 40.0 * conc},
        "itl_ms": {"p95": 5.0 * conc}, "provenance": {"energy": provenance},
    }  # fmt: skip


def _bench(recommended: str | None, *configs: dict[str, Any]) -> dict[str, Any]:
    rec = next((c for c in configs if c["name"] == recommended), None)
    return {
        "url": URL, "model": "llama", "run_id": "a" * 32, "configs": list(configs),
        "recommended": {
            "name": recommended, "concurrency": rec and rec["concurrency"], "rate_per_s": None,
            "j_per_output_token": rec and rec["j_per_output_token"],
            "ttft_ms_p95": rec and rec["ttft_ms"]["p95"],
            "itl_ms_p95": rec and rec["itl_ms"]["p95"],
            "slo": {"ttft_ms": 500.0, "itl_ms": None, "percentile": "p95"},
            "reason": "lowest energy per output token" if rec else "no configuration meets the "
            "SLOs without failures",
            "rejected": {c["name"]: "1 failed request(s)" for c in configs
                         if c["requests"]["failed"]},
        },
        "energy": {"source": "this machine's readers"},
    }  # fmt: skip


def _ctx() -> Any:
    return resolve_context({"country": "FR", "pue": 1.2}, {}, [])


def test_scale_is_the_recommended_configurations_j_per_request_times_volume() -> None:
    c1, c8 = _config("c=1", 1, 0.5, 100.0), _config("c=8", 8, 0.125, 96.0)
    bench = _bench("c=8", c1, c8)
    ctx = _ctx()
    rec = serving.recommended_config(bench)
    assert rec is c8
    sc = serving.serving_scale(c8, URL, ctx, 20_000.0)
    assert sc is not None
    assert sc["it_j_per_unit"] == pytest.approx(12.0)  # 0.125 J/token x 96 tokens
    assert sc["it_j_per_token"] == pytest.approx(0.125)
    assert sc["unit"] == "request" and sc["workload"] == "serve"
    assert sc["units_per_day"] == 20_000.0 and sc["units_measured"] == 32.0
    assert sc["provenance"] == "measured" and "c=8" in sc["workload_basis"]
    day_it = j_to_kwh(12.0 * 20_000.0)
    assert sc["day"]["it_energy_kwh"] == pytest.approx(day_it)
    assert sc["year"]["it_energy_kwh"] == pytest.approx(day_it * DAYS_PER_YEAR)
    assert sc["year"]["facility_energy_kwh"] == pytest.approx(day_it * DAYS_PER_YEAR * 1.2)
    fr = sc["site"]["intensity_location_g_per_kwh"]["value"]
    assert sc["year"]["co2e_location_kg"] == pytest.approx(
        day_it * DAYS_PER_YEAR * 1.2 * fr / 1e3
    )
    # The same volume at the costlier c=1 (50 J/request) scales 50/12 times higher.
    sc1 = serving.serving_scale(c1, URL, ctx, 20_000.0)
    assert sc1 is not None
    assert sc1["year"]["it_energy_kwh"] / sc["year"]["it_energy_kwh"] == pytest.approx(50 / 12)


def test_a_configuration_without_j_per_request_gives_no_scale() -> None:
    assert serving.serving_scale(_config("c=1", 1, None, 0.0), URL, _ctx(), 1e4) is None


def _run(requests: float = 30.0) -> RunResult:
    comp = (ComponentEnergy("cpu0", "cpu", "CPU", 360.0, Provenance.MEASURED, "RAPL"),)
    counts = {"requests": requests, "tokens": 30 * requests} if requests else {}
    w = WindowResult("c=1", 1.0, 9.0, comp, counts=counts)
    return RunResult(
        run_id="b" * 32, name="bench-serve", started_at="2026-12-01T10:00:00+00:00",
        duration_s=10.0, components=comp, windows=(w,), counts=dict(counts),
    )  # fmt: skip


def test_no_recommendation_scales_over_the_whole_run_and_says_so() -> None:
    bench = _bench(None, _config("c=1", 1, 0.5, 100.0, failed=3))
    run, ctx, notes = _run(), _ctx(), []
    sc = serving.audit_scale(bench, run, footprint_of(run, ctx), ctx, 1e4, notes)
    assert sc["unit"] == "request" and sc["it_j_per_unit"] != pytest.approx(50.0)
    assert len(notes) == 1 and "whole benchmark run" in notes[0]
    assert "no configuration meets" in notes[0]


def test_no_successful_request_is_never_multiplied_by_a_request_rate() -> None:
    bench = _bench(None, _config("c=2", 2, None, 0.0, failed=32))
    run, ctx, notes = _run(requests=0.0), _ctx(), []
    sc = serving.audit_scale(bench, run, footprint_of(run, ctx), ctx, 1e4, notes)
    assert sc["units_per_day"] is None and sc["unit"] != "request"
    assert sc["year"]["it_energy_kwh"] == pytest.approx(j_to_kwh(360.0))  # the run, once
    assert "no request succeeded" in notes[0] and "benchmark run" in sc["workload_basis"]


def _doc(bench: dict[str, Any]) -> Any:
    return {"workload": {"model": {"serving": serving.serving_summary(bench)}}}


def test_rule_recommends_the_measured_configuration_with_its_evidence() -> None:
    bench = _bench("c=8", _config("c=1", 1, 0.5, 100.0), _config("c=8", 8, 0.125, 96.0))
    r = rule_serving_config(_doc(bench))
    assert r is not None and r.rule == "serving-config" and r.provenance == "measured"
    assert "concurrency 8" in r.title and "75% less" in r.action and "c=1" in r.action
    assert "TTFT p95 <= 500 ms" in r.action and "TTFT p95 320 ms" in r.cost
    assert "c=1 500 mJ/output token" in r.evidence and "c=8 125 mJ/output token" in r.evidence
    assert r.effect is None  # the audit's yearly figures are already at c=8: no second saving


def test_rule_says_when_no_configuration_qualified_and_is_silent_otherwise() -> None:
    r = rule_serving_config(_doc(_bench(None, _config("c=1", 1, 0.5, 100.0, failed=3))))
    assert r is not None and r.title.startswith("No measured serving configuration")
    assert "c=1: 1 failed request(s)" in r.action
    assert rule_serving_config({"workload": {"model": {"name": "builtin"}}}) is None

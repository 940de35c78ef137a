"""Recommendation rules: each fires on the figures that call for it, with the right saving."""

from __future__ import annotations

import math
from typing import Any

import pytest

from wattwise.report.recommend import (
    POWER_CAP_SAVING,
    recommend,
    rule_accelerator_utilisation,
    rule_batching,
    rule_cleaner_region,
    rule_efficient_facility,
    rule_energy_counter,
    rule_hardware,
    rule_know_pue,
    rule_lab_variant,
    rule_power_cap,
    utilisation_saving,
)
from wattwise.report.reduce import recommendations_section

INTENSITY = 400.0
PRICE = 0.2


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "scale": {
            "unit": "request", "units_per_day": 1000.0, "pue": 1.5,
            "intensity_g_per_kwh": INTENSITY, "price_per_kwh": PRICE, "currency": "EUR",
            "year": {"it_energy_kwh": 100.0, "facility_energy_kwh": 150.0,
                     "co2e_location_kg": 60.0, "cost": 30.0},
        },
        "footprint": {"assumptions": [
            {"name": "pue", "value": 1.5, "provenance": "user", "source": "--pue"}]},
        "run": {"components": [{"kind": "cpu", "energy_j": 100.0, "provenance": "measured",
                                "name": "CPU package-0 (RAPL)"}]},
        "workload": {"batch_size": 1},
    }  # fmt: skip
    doc.update(over)
    return doc


def _lab(**base_over: Any) -> dict[str, Any]:
    base = {"name": "baseline", "techniques": ["fp32"], "j_per_token": 0.010,
            "j_per_token_batch": 0.004, "batch": 8, "tokens_per_s": 300.0,
            "tokens_per_s_batch": 1200.0, "perplexity": 40.0, "provenance": "measured"}  # fmt: skip
    base.update(base_over)
    v = {"name": "int8", "techniques": ["int8-dynamic"], "j_per_token": 0.006,
         "perplexity": 40.4, "provenance": "measured", "optimisation_energy_j": 2.0,
         "payback_tokens": 500.0}  # fmt: skip
    return {"baseline": "baseline", "recommended": "int8", "tolerance": 0.05,
            "variants": [base, v], "settings": {"rounds": 3}}  # fmt: skip


def test_lab_variant_saving_is_the_measured_cut() -> None:
    r = rule_lab_variant(_doc(lab=_lab()))
    assert r is not None and r.provenance == "measured"
    assert math.isclose(r.saving_kwh_per_year or 0, 150.0 * 0.4)
    assert math.isclose(r.saving_kg_per_year or 0, 60.0 * INTENSITY / 1000)
    assert math.isclose(r.saving_money_per_year or 0, 60.0 * PRICE)
    assert "+1.0%" in r.cost and "6 mJ/token" in r.evidence
    lab = _lab()
    lab["recommended"] = "baseline"  # nothing within tolerance: no rule
    assert rule_lab_variant(_doc(lab=lab)) is None
    assert rule_lab_variant(_doc()) is None


@pytest.mark.parametrize(
    ("name", "techniques"),
    [
        ("speculative+compiled", ["speculative-ngram", "compiled-static-cache"]),
        ("speculative+lean", ["speculative-ngram", "lean-step"]),
    ],
)
def test_a_decoding_variant_is_recommended_as_a_way_to_decode_the_same_model(
    name: str, techniques: list[str]
) -> None:
    lab = _lab()
    lab["variants"][1].update(
        name=name, techniques=techniques, perplexity=40.0, greedy_equal=16, greedy_prompts=16
    )
    lab["recommended"] = name
    r = rule_lab_variant(_doc(lab=lab))
    assert r is not None and r.title == f"Decode with '{name}' (the same model)"
    assert "keep the model" in r.action and "16/16" in r.action and "40% less" in r.action
    assert rule_lab_variant(_doc(lab=_lab())).title.startswith("Serve the 'int8'")  # type: ignore[union-attr]


def test_batching_only_when_served_one_at_a_time_and_cheaper() -> None:
    r = rule_batching(_doc(lab=_lab()))
    assert r is not None and math.isclose(r.saving_kwh_per_year or 0, 150.0 * 0.6)
    assert rule_batching(_doc(lab=_lab(), workload={"batch_size": 8})) is None
    assert rule_batching(_doc(lab=_lab(j_per_token_batch=0.0099))) is None  # < 5 %: noise


def test_utilisation_model_and_rule() -> None:
    u, s = utilisation_saving(mean_power_w=160.0, tdp_w=400.0, idle_w=60.0)
    assert math.isclose(u, 100 / 340)
    e1, e2 = (60 + 340 * u) / u, (60 + 340 * 2 * u) / (2 * u)
    assert math.isclose(s, 1 - e2 / e1)
    gpu = {"kind": "gpu", "energy_j": 300.0, "provenance": "measured", "name": "A100"}
    cpu = {"kind": "cpu", "energy_j": 100.0, "provenance": "measured", "name": "CPU"}
    doc = _doc(run={"components": [gpu, cpu]}, utilisation={"accelerators": [
        {"name": "A100", "mean_power_w": 160.0, "tdp_w": 400.0, "idle_w": 60.0}]})  # fmt: skip
    r = rule_accelerator_utilisation(doc)
    assert r is not None and math.isclose(r.saving_kwh_per_year or 0, 150.0 * s * 0.75)
    busy = _doc(run={"components": [gpu]}, utilisation={"accelerators": [
        {"name": "A100", "mean_power_w": 380.0, "tdp_w": 400.0, "idle_w": 60.0}]})  # fmt: skip
    assert rule_accelerator_utilisation(busy) is None
    cap = rule_power_cap(doc)
    assert cap is not None and math.isclose(cap.saving_kwh_per_year or 0,
                                            150.0 * POWER_CAP_SAVING * 0.75)  # fmt: skip
    assert rule_power_cap(_doc()) is None  # no GPU measured


def _row(key: str, g: float, kwh: float = 1.5, cost: float = 0.3) -> dict[str, Any]:
    return {"key": key, "name": key, "co2e_location_g": g, "facility_energy_kwh": kwh,
            "intensity_g_per_kwh": g / kwh, "cost": {"value": cost, "currency": "EUR"}}  # fmt: skip


def test_cleaner_region_within_reach() -> None:
    regions = {"current": _row("here", 600.0), "candidates": [_row("b", 300.0), _row("a", 60.0)],
               "scope": "the cleanest gcp region"}  # fmt: skip
    r = rule_cleaner_region(_doc(regions=regions))
    assert r is not None and "a" in r.title
    assert math.isclose(r.saving_kg_per_year or 0, 60.0 * 0.9)
    assert math.isclose(r.saving_kwh_per_year or 0, 0, abs_tol=1e-9)
    assert math.isclose(r.saving_money_per_year or 0, 0, abs_tol=1e-9)
    assert "IT and facility energy are unchanged" in r.cost
    clean_here = {"current": _row("here", 61.0), "candidates": [_row("a", 60.0)]}
    assert rule_cleaner_region(_doc(regions=clean_here)) is None


def test_facility_rules_depend_on_the_pue_given() -> None:
    r = rule_efficient_facility(_doc())
    assert r is not None and math.isclose(r.saving_kwh_per_year or 0, 100.0 * (1.5 - 1.1))
    assert rule_know_pue(_doc()) is None  # the user gave a PUE
    fp = {"assumptions": [{"name": "pue", "value": 1.56, "provenance": "assumed", "source": "x"}]}
    assert rule_know_pue(_doc(footprint=fp)) is not None
    good = {"assumptions": [{"name": "pue", "value": 1.1, "provenance": "user", "source": "x"}]}
    assert rule_efficient_facility(_doc(footprint=good)) is None


def test_energy_counter_only_when_estimated() -> None:
    assert rule_energy_counter(_doc()) is None
    est = {"components": [{"kind": "cpu", "energy_j": 90.0, "provenance": "estimated",
                           "name": "CPU estimate"}, {"kind": "gpu", "energy_j": 10.0,
                           "provenance": "measured", "name": "GPU"}]}  # fmt: skip
    r = rule_energy_counter(_doc(run=est))
    assert r is not None and "90%" in r.evidence and r.saving_kwh_per_year is None


def test_hardware_only_for_a_large_estimated_gap() -> None:
    rows = [{"name": "L4", "year_facility_kwh": 30.0}, {"name": "H100", "year_facility_kwh": 90.0}]
    r = rule_hardware(_doc(hardware=rows))
    assert r is not None and "L4" in r.title and math.isclose(r.saving_kwh_per_year or 0, 120.0)
    assert rule_hardware(_doc(hardware=[{"name": "H100", "year_facility_kwh": 140.0}])) is None


def test_recommend_orders_by_saving_unquantified_last() -> None:
    fp = {"assumptions": [{"name": "pue", "value": 1.56, "provenance": "assumed", "source": "x"}]}
    est = {"components": [{"kind": "cpu", "energy_j": 9.0, "provenance": "estimated", "name": "c"}]}
    regions = {"current": _row("here", 600.0), "candidates": [_row("a", 60.0)]}
    recs = recommend(_doc(lab=_lab(), footprint=fp, run=est, regions=regions))
    rules = [r.rule for r in recs]
    assert set(rules) >= {"lab-variant", "batching", "cleaner-region", "efficient-facility",
                          "know-pue", "energy-counter"}  # fmt: skip
    kg = [r.saving_kg_per_year for r in recs]
    quantified = [k for k in kg if k is not None]
    assert quantified == sorted(quantified, reverse=True)
    assert kg[-2:] == [None, None]
    assert recommend(_doc(footprint={"assumptions": []})) == []  # nothing calls for an action


def _region_doc(region_pue: float) -> dict[str, Any]:
    """PUE 1.5 assumed here; the cleanest region has ``region_pue`` and a tenth of the grid."""
    best = {"key": "gcp:europe-north2", "name": "gcp:europe-north2", "pue": region_pue,
            "co2e_location_g": 60.0 * region_pue / 1.5, "facility_energy_kwh": region_pue,
            "intensity_g_per_kwh": 40.0, "cost": {"value": 0.2 * region_pue, "currency": "EUR"}}
    fp = {"assumptions": [{"name": "pue", "value": 1.5, "provenance": "assumed", "source": "x"}]}
    return _doc(footprint=fp, lab=_lab(),
                regions={"current": _row("here", 600.0), "candidates": [best]})  # fmt: skip


def test_region_and_efficient_facility_do_not_both_claim_the_same_kwh() -> None:
    recs = recommend(_region_doc(1.09))
    by = {r.rule: r for r in recs}
    region, facility = by["cleaner-region"], by["efficient-facility"]
    # alone, both claim the PUE overhead above ~1.1 ...
    assert math.isclose(region.alone_kwh_per_year or 0, 100.0 * (1.5 - 1.09))
    assert math.isclose(facility.alone_kwh_per_year or 0, 100.0 * (1.5 - 1.1))
    # ... combined, the facility action ranked after the move adds nothing more
    first, second = recs.index(region), recs.index(facility)
    assert first < second and facility.after == second
    assert math.isclose(facility.saving_kwh_per_year or 0, 0.0, abs_tol=1e-9)


def test_sequential_savings_add_up_to_doing_every_action() -> None:
    from wattwise.report.savings import baseline_site

    doc = _region_doc(1.09)
    recs = [r for r in recommend(doc) if r.effect is not None]
    base = baseline_site(doc)
    assert base is not None
    end = base
    for r in recs:
        assert r.effect is not None
        end = r.effect.apply(end)
    kwh = sum(r.saving_kwh_per_year or 0 for r in recs)
    assert math.isclose(kwh, base.facility_kwh - end.facility_kwh)
    assert math.isclose(sum(r.saving_kg_per_year or 0 for r in recs), base.co2e_kg - end.co2e_kg)
    assert sum(r.saving_kg_per_year or 0 for r in recs) <= base.co2e_kg
    kg = [r.saving_kg_per_year or 0 for r in recs]
    assert kg == sorted(kg, reverse=True)  # greedy order: the biggest next step first


def test_region_text_matches_its_facility_energy_figure() -> None:
    moved = rule_cleaner_region(_region_doc(1.09))
    assert moved is not None and (moved.saving_kwh_per_year or 0) > 1.0
    assert "unchanged (the same PUE)" not in moved.cost and "1.5 → 1.09" in moved.cost
    same = rule_cleaner_region(_region_doc(1.5))
    assert same is not None and math.isclose(same.saving_kwh_per_year or 0, 0, abs_tol=1e-9)
    assert "IT and facility energy are unchanged" in same.cost


def test_report_states_each_saving_after_the_ones_above_and_the_total() -> None:
    doc = _region_doc(1.09)
    doc["recommendations"] = [r.to_dict() for r in recommend(doc)]
    html = recommendations_section(doc)
    assert "kWh facility energy" in html and "once #1 is done" in html and "(alone: " in html
    total = [r["saving_kg_per_year"] for r in doc["recommendations"]
             if r["saving_kg_per_year"] is not None]  # fmt: skip
    assert f"data-saving-kg='{sum(total):.9g}'" in html


def test_money_after_a_move_to_a_place_without_a_price_says_why_it_is_unknown() -> None:
    doc = _region_doc(1.09)
    del doc["regions"]["candidates"][0]["cost"]  # the cleanest region has no published price
    doc["recommendations"] = [r.to_dict() for r in recommend(doc)]
    first, second = doc["recommendations"][:2]
    assert first["rule"] == "cleaner-region" and first["saving_money_per_year"] is None
    assert second["saving_money_per_year"] is None and second["alone_money_per_year"] > 0
    html = recommendations_section(doc)
    assert "not known once the actions above are done" in html


def test_an_action_covered_by_the_ones_above_says_it_saves_nothing_more() -> None:
    doc = _region_doc(1.09)
    doc["recommendations"] = [r.to_dict() for r in recommend(doc)]
    html = recommendations_section(doc)
    item = html.split("data-rule=\"efficient-facility\"")[1].split("</li>")[0]
    assert "saves nothing more once #" in item and "(alone: " in item

"""The audit's arithmetic on constructed runs (no workload runs): site factors from the one
resolver (nothing back-solved), hardware costs only where a price is known, and training
scaled per training run, not per request (issue 11: A back-solving, B3, B12)."""

from __future__ import annotations

import pytest

from wattwise.accounting import Context
from wattwise.accounting.context import resolve_context
from wattwise.accounting.runs import footprint_of
from wattwise.accounting.site import resolve_site
from wattwise.audit import analysis as an
from wattwise.audit.scaling import decide_workload
from wattwise.core.provenance import Provenance
from wattwise.core.run import ComponentEnergy, RunResult, WindowResult
from wattwise.errors import ConfigError
from wattwise.units import j_to_kwh

RUN_J = 3.6e6  # 1 kWh of IT energy


def _comp(j: float) -> tuple[ComponentEnergy, ...]:
    return (ComponentEnergy("gpu0", "gpu", "NVIDIA A100", j, Provenance.MEASURED, "NVML"),)


def _run(counts: dict[str, float], window: str = "train") -> RunResult:
    """A 1 h run: 10 % start-up outside any window, 90 % in ``window`` where ``counts`` were
    counted."""
    w = WindowResult(window, 360.0, 3600.0, _comp(0.9 * RUN_J), counts=dict(counts))
    return RunResult(
        run_id="f" * 32, name="train.py", started_at="2026-12-01T10:00:00+00:00",
        duration_s=3600.0, components=_comp(RUN_J), windows=(w,), counts=dict(counts),
    )  # fmt: skip


def _ctx(**flags: object) -> Context:
    return resolve_context(flags, {}, [])


def test_audit_site_factors_are_the_resolvers_with_their_provenance() -> None:
    ctx = _ctx(cloud="gcp", cloud_region="europe-west1", pue=1.2)
    run = _run({"requests": 100.0}, "generate")
    sc = an.scale(run, footprint_of(run, ctx), ctx, 1e4)
    site, want = sc["site"], resolve_site(ctx)
    assert site["pue"]["value"] == want.pue.value == 1.2
    assert site["pue"]["provenance"] == "given"
    loc = site["intensity_location_g_per_kwh"]
    assert (loc["value"], loc["provenance"]) == (want.intensity_location_g_per_kwh.value,
                                                 "estimated")  # fmt: skip
    mkt = site["intensity_market_g_per_kwh"]
    assert mkt["value"] == want.intensity_market_g_per_kwh.value
    assert mkt["source"] == want.intensity_market_g_per_kwh.source  # Google CFE, stated
    assert site["price_per_kwh"]["unit"] == "EUR/kWh" and sc["currency"] == "EUR"
    assert site["price_per_kwh"]["provenance"] == "assumed"  # EU average for Belgium
    assert (sc["pue"], sc["intensity_g_per_kwh"]) == (1.2, loc["value"])


def test_audit_factors_do_not_come_from_the_footprint_back_solved() -> None:
    """The factors follow the context even when the footprint handed in is another place's."""
    ctx = _ctx(country="FR")
    other = footprint_of(_run({"requests": 1.0}, "generate"), _ctx(country="PL"))
    sc = an.scale(_run({"requests": 1.0}, "generate"), other, ctx, 10.0)
    assert sc["intensity_g_per_kwh"] == resolve_site(ctx).intensity_location_g_per_kwh.value
    assert sc["intensity_g_per_kwh"] != other.intensity_g_per_kwh


def test_hardware_rows_use_the_resolvers_factors_not_the_given_badge() -> None:
    from wattwise.estimate import estimate_inference, get_hardware
    from wattwise.estimate.site import context_from_accounting

    ctx = _ctx(cloud="gcp", cloud_region="europe-west1")
    rows = an.hardware_rows(1.2e6, 16, 64, 1e4, ctx)
    assert rows
    ectx = context_from_accounting(ctx)
    assert ectx.pue.provenance == "estimated"  # the provider's PUE, not "given"
    acc = get_hardware(rows[0]["name"])
    est = estimate_inference(hardware=acc, params=1.2e6, input_tokens=16, output_tokens=64,
                             requests_per_day=1e4, chips=1, batch_size=1, precision="fp32",
                             context=ectx, always_on=True)  # fmt: skip
    assert rows[0]["year_co2e_kg"] == pytest.approx(est.yearly["co2e_location_kg"].value)
    assert rows[0]["year_cost"] == pytest.approx(est.yearly["cost"].value)
    assert all(r["currency"] == "EUR" for r in rows)


def test_hardware_table_cost_is_unknown_where_the_headline_is_unknown() -> None:
    ctx = Context()  # no place: no price (the headline says unknown)
    run = _run({"requests": 100.0}, "generate")
    assert footprint_of(run, ctx).cost is None
    rows = an.hardware_rows(1.2e6, 16, 64, 1e4, ctx)
    assert rows and all(r["year_cost"] is None and r["currency"] == "" for r in rows)
    sc = an.scale(run, footprint_of(run, ctx), ctx, 1e4)
    assert sc["price_per_kwh"] is None and sc["currency"] == ""
    assert sc["site"]["price_unknown"] == "unknown — give --price"


def test_training_command_is_scaled_per_training_run_not_per_request() -> None:
    ctx = _ctx(country="DE")
    run = _run({"steps": 100.0, "samples": 3200.0, "tokens": 3.2e6})
    sc = an.scale(run, footprint_of(run, ctx), ctx, 10_000.0)
    assert sc["workload"] == "train" and "100 steps" in sc["workload_basis"]
    assert sc["unit"] == "training run" and sc["units_per_day"] is None
    assert sc["run"]["it_energy_kwh"] == pytest.approx(j_to_kwh(RUN_J))
    # A year holds one run unless told otherwise; never 10,000 runs a day.
    assert sc["year"]["it_energy_kwh"] == pytest.approx(j_to_kwh(RUN_J))
    assert "assumed" in sc["runs_per_year_basis"]
    # Per step / sample / token: the energy of the window that counted them.
    assert sc["per"]["step"]["it_j"] == pytest.approx(0.9 * RUN_J / 100)
    assert sc["per"]["sample"]["it_j"] == pytest.approx(0.9 * RUN_J / 3200)
    assert sc["it_j_per_token"] == pytest.approx(0.9 * RUN_J / 3.2e6)
    assert an.pue_whatifs(sc["year"]["it_energy_kwh"], ctx)  # the what-ifs still work


def test_a_run_that_counted_nothing_is_scaled_per_run_not_times_requests() -> None:
    ctx = _ctx(country="DE")
    run = _run({})
    sc = an.scale(run, footprint_of(run, ctx), ctx, 10_000.0)
    assert sc["workload"] == "train" and "counted no requests" in sc["workload_basis"]
    assert sc["year"]["it_energy_kwh"] == pytest.approx(j_to_kwh(RUN_J))


def test_serving_run_is_scaled_per_request_and_workload_can_be_given() -> None:
    ctx = _ctx(country="DE")
    run = _run({"requests": 400.0}, "generate")
    sc = an.scale(run, footprint_of(run, ctx), ctx, 10_000.0)
    assert sc["workload"] == "serve" and sc["unit"] == "request"
    want_kwh = j_to_kwh(0.9 * RUN_J / 400 * 10_000) * an.DAYS_PER_YEAR
    assert sc["year"]["it_energy_kwh"] == pytest.approx(want_kwh)
    trained = _run({"steps": 10.0})
    assert decide_workload(trained, "serve") == ("serve", "given by you (--workload serve)")
    assert decide_workload(run, "train")[0] == "train"
    with pytest.raises(ConfigError, match="train or serve"):
        decide_workload(run, "batch")


def test_audit_summary_of_a_training_run_says_per_training_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from wattwise.cli.audit import _summary

    ctx = _ctx(country="DE")
    run = _run({"steps": 100.0})
    fp = footprint_of(run, ctx)
    doc = {"footprint": fp.to_dict(), "scale": an.scale(run, fp, ctx, 10_000.0),
           "run": {"energy_j": RUN_J, "provenance": "measured"}, "recommendations": []}
    outcome = SimpleNamespace(doc=doc, run_id=run.run_id, exit_code=0, stored_line="",
                              html_path=Path("r.html"))  # fmt: skip
    _summary(outcome, "", 1.0)
    err = capsys.readouterr().err
    assert "per training run:" in err and "requests/day" not in err and "runs/day" not in err

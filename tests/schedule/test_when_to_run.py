"""The audit's "when to run" rule: fires for a training job on a grid with hourly data."""

from __future__ import annotations

from typing import Any

import pytest

from wattwise.data.hourly import hourly_us
from wattwise.report.recommend import recommend
from wattwise.report.when_to_run import rule_when_to_run
from wattwise.schedule.curve import _filled_series
from wattwise.schedule.skill import backtest, history_skill


def _doc(workload: str = "train", **ctx: Any) -> dict[str, Any]:
    return {
        "scale": {
            "workload": workload,
            "unit": "run",
            "units_per_day": None,
            "pue": 1.2,
            "intensity_g_per_kwh": 250.0,
            "price_per_kwh": 0.17,
            "currency": "USD",
            "year": {
                "it_energy_kwh": 1000.0,
                "facility_energy_kwh": 1200.0,
                "co2e_location_kg": 300.0,
            },
        },
        "run": {"duration_s": 3.5 * 3600, "components": []},
        "context": ctx or {"cloud": "aws", "cloud_region": "us-west-1"},
        "footprint": {"assumptions": []},
        "workload": {"batch_size": None},
    }


def test_when_to_run_fires_for_a_training_job_on_caiso() -> None:
    r = rule_when_to_run(_doc())  # type: ignore[arg-type]
    assert r is not None and r.rule == "when-to-run"
    values = _filled_series(hourly_us("CISO"))[0]
    forecast, perfect_all = backtest(values, 4, 24)
    skill = history_skill("CISO", 4, 24)
    assert skill is not None and skill.samples == len(forecast)
    cut, perfect = skill.forecast_median, skill.perfect_median
    assert 0.05 < cut <= perfect < 1
    assert all(p >= f - 1e-9 for f, p in zip(forecast, perfect_all, strict=True))
    assert r.effect is not None
    assert r.effect.intensity_g_per_kwh == pytest.approx(250.0 * (1 - cut))
    assert r.saving_kg_per_year == pytest.approx(300.0 * cut)
    assert "--deadline" in r.action and "CISO" in r.title
    assert any(x.rule == "when-to-run" for x in recommend(_doc()))  # type: ignore[arg-type]


def test_when_to_run_does_not_fire_for_serving_or_a_place_without_hourly_data() -> None:
    assert rule_when_to_run(_doc("serve")) is None  # type: ignore[arg-type]
    assert rule_when_to_run(_doc(country="FR")) is None  # type: ignore[arg-type]

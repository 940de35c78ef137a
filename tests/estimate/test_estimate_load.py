"""Fleet sizing under a load: replicas, SLOs, idle power at low load, diurnal scale-to-zero."""

from __future__ import annotations

import pytest

from wattwise.errors import ConfigError
from wattwise.estimate import context_from_numbers
from wattwise.estimate.inputs import ServingInputs
from wattwise.estimate.load import hourly_rates, serving_with_load

CTX = context_from_numbers(pue=1.2, intensity_location_g_per_kwh=400, price_per_kwh=0.1)


def _load(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"hardware": "H100", "params": 8e9, "input_tokens": 500,
                               "output_tokens": 300, "chips": 1, "batch_size": 128}  # fmt: skip
    base.update(kw)
    est = serving_with_load(ServingInputs(**base), CTX)  # type: ignore[arg-type]
    return est.load


def test_energy_per_request_is_many_times_higher_at_a_trickle() -> None:
    trickle, busy = _load(requests_per_second=0.02), _load(requests_per_second=200)
    wh_trickle = trickle["always_on"]["wh_per_request_facility"]["value"]  # type: ignore[index]
    wh_busy = busy["always_on"]["wh_per_request_facility"]["value"]  # type: ignore[index]
    assert wh_trickle > 10 * wh_busy
    assert trickle["always_on"]["idle_share"] > 0.3  # type: ignore[index]
    assert busy["always_on"]["utilisation"] > 0.8  # type: ignore[index]
    assert busy["always_on"]["replicas"] > 1  # type: ignore[index]


def test_itl_objective_caps_concurrency_and_adds_replicas() -> None:
    free = _load(requests_per_second=100)
    slo_ms = 0.75 * float(free["itl_ms_at_max_concurrency"])  # type: ignore[arg-type]
    tight = _load(requests_per_second=100, slo_itl_ms=slo_ms)
    assert tight["concurrency_max"] < free["concurrency_max"]
    assert tight["itl_ms_at_max_concurrency"] <= slo_ms  # type: ignore[operator]
    assert tight["always_on"]["replicas"] > free["always_on"]["replicas"]  # type: ignore[index]
    unmet = _load(requests_per_second=1, slo_ttft_ms=1, slo_itl_ms=0.1)
    assert unmet["slo"] == {"ttft_ms": 1, "itl_ms": 0.1, "ttft_met": False, "itl_met": False}


def test_scale_to_zero_saves_the_idle_night() -> None:
    day = tuple([0.0] * 8 + [1.0] * 16)
    load = _load(requests_per_second=5, diurnal=day)
    on, zero = load["always_on"], load["scale_to_zero"]
    assert zero["replica_hours_per_day"] < on["replica_hours_per_day"]  # type: ignore[index]
    assert zero["energy_kwh_per_day"]["value"] < on["energy_kwh_per_day"]["value"]  # type: ignore[index]
    assert sum(hourly_rates(5, day)) == pytest.approx(5 * 24)
    with pytest.raises(ConfigError, match="24 hourly"):
        _load(requests_per_second=5, diurnal=(1.0,) * 23)
    with pytest.raises(ConfigError, match="not both"):
        _load(requests_per_second=5, requests_per_day=10)

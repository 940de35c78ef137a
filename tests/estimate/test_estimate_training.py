"""Training and fine-tuning estimates: FLOPs, MFU, power bases, bands, bad input."""

from __future__ import annotations

import pytest

from wattwise.core.defaults import LIFETIME_YEARS
from wattwise.core.units import HOURS_PER_YEAR
from wattwise.errors import ConfigError, UnknownKeyError
from wattwise.estimate import (
    Band,
    context_from_numbers,
    estimate_finetune,
    estimate_training,
    get_hardware,
    training_flops,
)
from wattwise.estimate.defaults import default_mfu
from wattwise.readers.base import Provenance


def _in_band(b: Band) -> bool:
    return b.low <= b.value <= b.high


def test_flops_are_six_n_d_with_active_params_for_moe() -> None:
    dense = estimate_training(hardware="H100", params=7e9, tokens=1e12, chips=64)
    assert dense.flops is not None and dense.flops.value == pytest.approx(6 * 7e9 * 1e12)
    moe = estimate_training(hardware="H100", params=47e9, active_params=13e9, tokens=1e12)
    assert moe.flops is not None and moe.flops.value == pytest.approx(6 * 13e9 * 1e12)


def test_chip_hours_follow_flops_over_peak_times_mfu() -> None:
    est = estimate_training(hardware="A100", flops=1e21, mfu=0.5, chips=8)
    expected_h = 1e21 / (312e12 * 0.5) / 3600
    assert est.chip_hours.value == pytest.approx(expected_h)
    assert est.wall_clock_days.value == pytest.approx(expected_h / 8 / 24)
    assert est.chip_hours.low == est.chip_hours.high  # the user gave the MFU


def test_default_mfu_gives_a_band_and_says_where_it_comes_from() -> None:
    est = estimate_training(hardware="A100", params=7e9, tokens=1e12, chips=256,
                            context=context_from_numbers(price_per_kwh=0.1))  # fmt: skip
    assert est.cost is not None
    for b in (est.chip_hours, est.it_energy_kwh, est.facility_energy_kwh, est.co2e_location_kg,
              est.cost, est.embodied_co2e_kg, est.wall_clock_days):  # fmt: skip
        assert _in_band(b) and b.low < b.high
    mfu = next(a for a in est.assumptions if a.name == "mfu")
    assert mfu.provenance is Provenance.ASSUMED and "LLaMA" in mfu.source


def test_mfu_defaults_depend_on_generation_and_scale() -> None:
    assert default_mfu("tpu-v4", 6144).band.value > default_mfu("volta", 1024).band.value
    small = default_mfu("hopper", 1024).band.value
    assert default_mfu("hopper", 16384).band.value == pytest.approx(small * 0.9)
    assert default_mfu("hopper", 8, finetune=True).band.value < small


def test_power_bases() -> None:
    ctx = context_from_numbers(pue=1.0, intensity_location_g_per_kwh=100)
    tdp = estimate_training(hardware="H100", chip_hours=1000, power_basis="tdp", context=ctx)
    assert tdp.it_energy_kwh.value == pytest.approx(700.0)
    measured = estimate_training(hardware="H100", chip_hours=1000, power_w=500, context=ctx)
    assert measured.it_energy_kwh.value == pytest.approx(500.0)
    model = estimate_training(hardware="H100", chip_hours=1000, context=ctx)
    # idle 70 + 0.85 x 630 + host 0.15 x 700 = 710.5 W per chip
    assert model.it_energy_kwh.value == pytest.approx(710.5)
    assert _in_band(model.it_energy_kwh)
    assert tdp.co2e_location_kg.value == pytest.approx(70.0)


def test_tpu_power_model_stays_below_tdp_like_patterson_measurements() -> None:
    est = estimate_training(hardware="TPU v3", chip_hours=1.0, power_basis="utilisation")
    per_chip_w = est.it_energy_kwh.value * 1000
    assert 245 <= per_chip_w <= 340  # Patterson: 245-310 W measured system power per chip


def test_chip_hours_with_flops_record_the_implied_mfu() -> None:
    est = estimate_training(hardware="V100", flops=3.14e23, chip_hours=3_552_000, chips=10_000)
    implied = next(a for a in est.assumptions if a.name == "implied_mfu")
    assert float(implied.value) == pytest.approx(3.14e23 / (3_552_000 * 3600 * 125e12), rel=5e-3)


def test_finetune_flops_by_method() -> None:
    kw = {"hardware": "H100", "params": 8e9, "tokens": 1e9, "chips": 8}
    full = estimate_finetune(method="full", **kw)  # type: ignore[arg-type]
    lora = estimate_finetune(method="lora", **kw)  # type: ignore[arg-type]
    qlora = estimate_finetune(method="qlora", **kw)  # type: ignore[arg-type]
    assert full.flops is not None and lora.flops is not None and qlora.flops is not None
    assert lora.flops.value == pytest.approx(full.flops.value * 4 / 6)
    assert qlora.flops.value > lora.flops.value and qlora.flops.low > lora.flops.value
    assert training_flops(8e9, 1e9, "lora") == pytest.approx(4 * 8e9 * 1e9)


def test_transfer_learning_saving_against_training_from_scratch() -> None:
    ft = estimate_finetune(hardware="A100", params=7e9, tokens=2e8, method="lora", chips=8)
    assert ft.scratch_facility_energy_kwh is not None and ft.transfer_saving_fraction is not None
    # 4 x 2e8 / 0.75 (fine-tuning MFU) against 6 x 20 x 7e9: a saving of ~99.9 %.
    expected = 1 - (4 * 2e8 / 0.75) / (6 * 20 * 7e9)
    assert ft.transfer_saving_fraction.value == pytest.approx(expected, rel=1e-6)
    assert _in_band(ft.transfer_saving_fraction)
    d = ft.to_dict()
    assert d["transfer_saving_fraction"]["value"] == pytest.approx(expected, rel=1e-5)


def test_embodied_band_spans_chip_and_server_share_boundaries() -> None:
    life = LIFETIME_YEARS.band
    est = estimate_training(hardware="H100", chip_hours=HOURS_PER_YEAR * life.value)  # one life
    acc = get_hardware("H100")
    assert acc.embodied_kgco2e is not None
    assert est.embodied_co2e_kg.value == pytest.approx(acc.embodied_kgco2e)
    assert est.embodied_co2e_kg.low == pytest.approx(acc.embodied_kgco2e * life.value / life.high)
    assert est.embodied_co2e_kg.high == pytest.approx(462.5 * life.value / life.low)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"params": -7e9, "tokens": 1e12}, "params must be a positive"),
        ({"params": 7e9, "tokens": 0}, "tokens must be a positive"),
        ({"params": 7e9, "tokens": 1e12, "mfu": 0.0}, r"MFU must be in \(0, 1\]"),
        ({"params": 7e9, "tokens": 1e12, "mfu": 1.5}, r"MFU must be in \(0, 1\]"),
        ({"params": 7e9, "tokens": 1e12, "flops": 1e20}, "inconsistent"),
        ({"params": 7e9, "active_params": 8e9, "tokens": 1e12}, "exceed total"),
        ({"params": 7e9}, "give tokens and params"),
        ({"params": 7e9, "tokens": 1e12, "chips": 0}, "chips must be"),
        ({"chip_hours": 10.0, "power_basis": "tdp", "power_w": 300.0}, "measured"),
        ({"chip_hours": 10.0, "power_basis": "nominal"}, "unknown power basis"),
    ],
)
def test_bad_input_raises_config_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        estimate_training(hardware="A100", **kwargs)  # type: ignore[arg-type]


def test_consistent_tokens_and_flops_are_accepted() -> None:
    est = estimate_training(hardware="A100", params=7e9, tokens=1e12, flops=4.4e22)
    assert est.flops is not None and est.flops.value == 4.4e22


def test_unknown_hardware_and_missing_tdp() -> None:
    with pytest.raises(UnknownKeyError):
        estimate_training(hardware="A1000", chip_hours=1.0)
    with pytest.raises(ConfigError, match="no published TDP"):
        estimate_training(hardware="TPU v5e", chip_hours=1.0)
    ok = estimate_training(hardware="TPU v5e", chip_hours=10.0, power_w=200.0)
    assert ok.it_energy_kwh.value == pytest.approx(2.0)


def test_json_shape_has_every_issue_key_with_a_band() -> None:
    d = estimate_training(hardware="H100", params=1e9, tokens=2e10, chips=8).to_dict()
    for key in ("chip_hours", "wall_clock_days", "it_energy_kwh", "facility_energy_kwh",
                "co2e_location_kg", "co2e_market_kg", "cost", "embodied_co2e_kg"):  # fmt: skip
        assert set(d[key]) >= {"value", "low", "high"}
    # no place and no price given: the cost is unknown, never the US average in USD
    assert d["cost"] == {"value": None, "low": None, "high": None, "currency": None}
    names = {a["name"] for a in d["assumptions"]}
    assert {"pue", "grid_intensity_location", "mfu", "power_basis"} <= names
    pue = next(a for a in d["assumptions"] if a["name"] == "pue")
    assert pue["provenance"] == "assumed"

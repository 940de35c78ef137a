"""Forecast of a whole run from its first steps: centre, narrowing interval, coverage, errors."""

from __future__ import annotations

import random

import pytest

from wattwise.errors import ConfigError
from wattwise.estimate import forecast


def _steps(n: int, seed: int = 1) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    times = [rng.gauss(1.0, 0.1) for _ in range(n)]
    energies = [t * rng.gauss(300.0, 20.0) for t in times]
    return times, energies


def test_constant_steps_are_predicted_exactly() -> None:
    f = forecast([2.0] * 10, [500.0] * 10, total_steps=100)
    assert f.energy_j.value == f.energy_j.low == f.energy_j.high == pytest.approx(50_000.0)
    assert f.duration_s.value == pytest.approx(200.0)
    assert f.remaining_s.value == pytest.approx(180.0)
    assert f.fraction_done == pytest.approx(0.1)


def test_interval_narrows_as_the_run_goes_on() -> None:
    times, energies = _steps(1000)
    widths = []
    for seen in (5, 20, 100, 500, 1000):
        f = forecast(times[:seen], energies[:seen], total_steps=1000)
        widths.append(f.energy_j.high - f.energy_j.low)
        assert f.energy_j.low <= f.energy_j.value <= f.energy_j.high
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] == 0.0  # finished: the total is known
    done = forecast(times, energies, total_steps=1000)
    assert done.energy_j.value == pytest.approx(sum(energies))


def test_interval_covers_the_true_total_in_most_runs() -> None:
    hits = 0
    runs = 200
    for seed in range(runs):
        times, energies = _steps(200, seed)
        f = forecast(times[:20], energies[:20], total_steps=200, confidence=0.9)
        hits += f.energy_j.low <= sum(energies) <= f.energy_j.high
    assert hits / runs >= 0.85


def test_single_step_gives_a_wide_stated_interval_low_confidence_and_carbon() -> None:
    f = forecast([1.0], [1000.0], total_steps=11, intensity_g_per_kwh=360.0)
    # ±50 % of the remainder, multiplicative below: 10,000 J / 1.5 .. 10,000 J x 1.5.
    assert f.remaining_energy_j.low == pytest.approx(10_000.0 / 1.5)
    assert f.remaining_energy_j.high == pytest.approx(15000.0)
    assert "one step" in f.method
    assert f.low_confidence and "1 step seen" in f.confidence_note
    assert f.co2e_kg is not None
    assert f.co2e_kg.value == pytest.approx(11_000 / 3.6e6 * 0.36)
    assert "no PUE given" in f.co2e_basis


def test_warmup_steps_count_in_totals_but_not_in_the_rate() -> None:
    f = forecast([30.0, 1.0, 1.0, 1.0], [9000.0, 100.0, 100.0, 100.0], total_steps=10,
                 warmup_steps=1)  # fmt: skip
    assert f.mean_step_energy_j == pytest.approx(100.0)
    assert f.energy_j.value == pytest.approx(9300.0 + 6 * 100.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([], [], 10), {}, "at least one"),
        (([1.0], [1.0, 2.0], 10), {}, "same length"),
        (([1.0, 1.0], [1.0, 1.0], 1), {}, "less than the steps seen"),
        (([1.0, -1.0], [1.0, 1.0], 5), {}, "finite and >= 0"),
        (([1.0, 1.0], [1.0, 1.0], 5), {"warmup_steps": 2}, "warmup_steps"),
        (([1.0, 1.0], [1.0, 1.0], 5), {"confidence": 0.5}, "confidence"),
    ],
)
def test_bad_input(args: tuple[list[float], list[float], int], kwargs: dict[str, float],
                   match: str) -> None:  # fmt: skip
    with pytest.raises(ConfigError, match=match):
        forecast(*args, **kwargs)  # type: ignore[arg-type]


def _uneven_first_steps() -> tuple[list[float], list[float]]:
    """7 steps as a real command reports them: a first step that includes start-up (imports,
    data loading), then steps of ~3 s that vary by ~50 %."""
    times = [40.0, 1.5, 4.5, 2.0, 5.0, 1.0, 4.0]
    return times, [t * 400.0 for t in times]


def test_forecast_str_is_a_human_line_not_a_dataclass_repr() -> None:
    times, energies = _steps(50)
    f = forecast(times, energies, total_steps=1000, intensity_g_per_kwh=103.0, pue=1.1)
    text = str(f)
    assert "Forecast(" not in text and "co2e_kg=" not in text and "None" not in text
    assert text.startswith("step 50/1,000 (5 %): ")
    assert "CO2e (facility energy × 103 g/kWh, PUE 1.1)" in text
    assert "90% interval" in text and "e+" not in text
    no_carbon = str(forecast(times, energies, total_steps=1000))
    assert "CO2e" not in no_carbon and "None" not in no_carbon


def test_few_uneven_steps_give_low_confidence_and_no_meaningless_band() -> None:
    times, energies = _uneven_first_steps()
    f = forecast(times, energies, total_steps=7000)
    assert f.low_confidence
    assert "vary too much" in f.confidence_note
    text = str(f)
    assert "low confidence" in text and "about" in text and "–" not in text


def test_forecast_lower_bounds_never_below_what_is_spent_and_never_zero() -> None:
    times, energies = _uneven_first_steps()
    for seen in range(1, len(times) + 1):
        f = forecast(times[:seen], energies[:seen], total_steps=7000)
        assert f.energy_j.low >= sum(energies[:seen])
        assert f.duration_s.low >= sum(times[:seen])
        assert f.remaining_s.low > 0 and f.remaining_energy_j.low > 0  # the rest is never free
        assert f.spent_j == pytest.approx(sum(energies[:seen]))
        assert f.elapsed_s == pytest.approx(sum(times[:seen]))


def test_forecast_carbon_is_facility_energy_times_intensity_pue_included() -> None:
    times, energies = _steps(20)
    it = forecast(times, energies, total_steps=100, intensity_g_per_kwh=400.0)
    fac = forecast(times, energies, total_steps=100, intensity_g_per_kwh=400.0, pue=1.5)
    assert it.co2e_kg is not None and fac.co2e_kg is not None
    assert fac.co2e_kg.value == pytest.approx(fac.energy_j.value / 3.6e6 * 1.5 * 0.4)
    assert fac.co2e_kg.value == pytest.approx(1.5 * it.co2e_kg.value)
    assert fac.co2e_kg.low == pytest.approx(fac.energy_j.low / 3.6e6 * 1.5 * 0.4)
    with pytest.raises(ConfigError, match="PUE"):
        forecast(times, energies, total_steps=100, intensity_g_per_kwh=400.0, pue=0.9)


def test_enough_regular_steps_are_confident_with_a_band() -> None:
    times, energies = _steps(40)
    f = forecast(times, energies, total_steps=400)
    assert not f.low_confidence and f.confidence_note == ""
    assert f.energy_j.low < f.energy_j.value < f.energy_j.high
    assert "–" in str(f) and "low confidence" not in str(f)

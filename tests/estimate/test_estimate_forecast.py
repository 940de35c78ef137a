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


def test_single_step_gives_a_wide_stated_interval_and_carbon() -> None:
    f = forecast([1.0], [1000.0], total_steps=11, intensity_g_per_kwh=360.0)
    assert f.remaining_energy_j.low == pytest.approx(5000.0)
    assert f.remaining_energy_j.high == pytest.approx(15000.0)
    assert "one step" in f.method
    assert f.co2e_kg is not None
    assert f.co2e_kg.value == pytest.approx(11_000 / 3.6e6 * 0.36)


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

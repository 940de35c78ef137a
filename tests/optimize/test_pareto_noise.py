"""The lab's Pareto frontier is not decided by differences within the measurement noise."""

from __future__ import annotations

from wattwise.optimize.lab import ENERGY_NOISE_REL, pareto_front


def test_noise_level_perplexity_gain_does_not_buy_a_frontier_place_at_double_energy() -> None:
    # int8-dynamic: perplexity 0.01 lower than the baseline (noise) at 1.9x its energy
    baseline, int8 = (0.010, 40.00), (0.019, 39.99)
    assert pareto_front([baseline, int8]) == [True, False]
    # the exact front (no bands) is what marked it optimal before
    assert pareto_front([baseline, int8], energy_noise=0, perplexity_noise=0) == [True, True]


def test_points_equal_within_noise_on_both_axes_are_both_on_the_front() -> None:
    a, b = (0.0100, 40.0), (0.0100 * (1 + ENERGY_NOISE_REL / 2), 40.05)
    assert pareto_front([a, b]) == [True, True]


def test_a_real_trade_off_stays_on_the_front_and_a_worse_point_is_dominated() -> None:
    pts = [(0.010, 40.0), (0.004, 52.0), (0.008, 46.0), (0.30, 47.0), (float("nan"), 1.0)]
    assert pareto_front(pts) == [True, True, True, False, False]

"""Savings of actions combined in sequence against one baseline: they add up, never exceed the
baseline, and each is what the action adds after those before it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from wattwise.report.savings import Effect, Site, combine, saving

BASE = Site(it_kwh=100.0, pue=1.5, intensity_g_per_kwh=400.0, price_per_kwh=0.2, currency="EUR")

effects = st.one_of(
    st.builds(Effect, it_factor=st.floats(0.05, 1.0)),
    st.builds(Effect, pue_at_most=st.floats(1.0, 2.0)),
    st.builds(Effect, pue=st.floats(1.0, 1.6), intensity_g_per_kwh=st.floats(0.0, 800.0),
              price_per_kwh=st.floats(0.01, 0.5), price_currency=st.just("EUR")),
)


@given(st.lists(effects, min_size=1, max_size=6))
def test_sequential_savings_add_up_to_doing_every_action(chosen: list[Effect]) -> None:
    steps, end = combine(chosen, BASE)
    assert sorted(s.index for s in steps) == list(range(len(chosen)))
    total = saving(BASE, end)
    assert math.isclose(sum(s.marginal.co2e_kg for s in steps), total.co2e_kg, abs_tol=1e-6)
    assert math.isclose(sum(s.marginal.facility_kwh for s in steps), total.facility_kwh,
                        abs_tol=1e-6)  # fmt: skip
    assert sum(s.marginal.co2e_kg for s in steps) <= BASE.co2e_kg + 1e-9


def test_two_actions_on_the_same_overhead_do_not_both_count_it() -> None:
    move = Effect(pue=1.09, intensity_g_per_kwh=40.0)
    better_facility = Effect(pue_at_most=1.1)
    steps, _ = combine([better_facility, move], BASE)
    assert [s.index for s in steps] == [1, 0]  # the move saves more carbon: first
    assert math.isclose(steps[1].marginal.facility_kwh, 0.0, abs_tol=1e-9)
    assert math.isclose(steps[1].alone.facility_kwh, 100.0 * (1.5 - 1.1))


def test_a_price_in_another_currency_makes_money_unknown_not_wrong() -> None:
    after = Effect(pue=1.1, price_per_kwh=0.1, price_currency="USD").apply(BASE)
    assert after.money is None and saving(BASE, after).money is None

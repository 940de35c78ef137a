"""A run's footprint: SCI per unit from the windows in which the unit was counted (issue 11 B2)."""

from __future__ import annotations

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.accounting.context import Context
from wattwise.accounting.runs import footprint_of, functional_units
from wattwise.tracker.core import Tracker


def _train_then_serve(clock: FakeClock):  # type: ignore[no-untyped-def]
    # 100 W: 50 s of training (5,000 J), then 10 requests in 5 s (500 J).
    t = Tracker(readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False).start()
    with t.window("train"):
        clock.advance(50.0)
    with t.window("serve"):
        clock.advance(5.0)
        t.count(requests=10)
    return t.stop()


def test_sci_per_request_uses_the_serving_window_not_the_training(clock: FakeClock) -> None:
    res = _train_then_serve(clock)
    ctx = Context(intensity_g_per_kwh=360.0, pue=1.0)
    fp = footprint_of(res, ctx)
    serve_kwh = 500.0 / 3.6e6
    assert fp.sci_g_per_unit["request"] == pytest.approx(serve_kwh * 360.0 / 10)
    # the whole run's carbon is unchanged: only its attribution to requests is
    assert fp.co2e_location_g == pytest.approx(5500.0 / 3.6e6 * 360.0)


def test_units_counted_outside_windows_keep_the_whole_run(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    clock.advance(2.0)
    t.count(tokens=4)
    assert functional_units(t.stop()) == {"token": pytest.approx(4.0)}

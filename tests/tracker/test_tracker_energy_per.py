"""Energy per unit is the energy of the windows in which the unit was counted (issue 11, B2)."""

from __future__ import annotations

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.api import tracker
from wattwise.ledger.serialize import run_from_dict, run_to_dict
from wattwise.tracker.core import Tracker


def test_per_request_energy_is_the_serving_windows_not_the_whole_run(clock: FakeClock) -> None:
    # 100 W: train for 50 s, then serve 10 requests in 5 s (500 J): 50 J per request, not 550.
    t = Tracker(readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False).start()
    with t.window("train"):
        clock.advance(50.0)
        t.count(train_tokens=1000)
    with t.window("serve"):
        for _ in range(10):
            with t.window("request"):  # nested: its counts are also in "serve"
                clock.advance(0.5)
                t.count(requests=1, tokens=20)
    res = t.stop()
    per = res.energy_per()
    assert per["requests"] == pytest.approx(50.0)
    assert per["tokens"] == pytest.approx(2.5)
    assert per["train_tokens"] == pytest.approx(5.0)
    assert run_to_dict(res)["energy_per"]["requests"] == pytest.approx(50.0)
    assert run_from_dict(run_to_dict(res)).energy_per() == per  # same from the ledger's shape


def test_unit_counted_outside_any_window_uses_the_whole_run(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    with t.window("a"):
        clock.advance(1.0)
        t.count(tokens=5)
    clock.advance(1.0)
    t.count(tokens=5)
    assert t.stop().energy_per() == {"tokens": pytest.approx(2.0)}


def test_repeated_windows_add_up(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    for _ in range(3):
        clock.advance(10.0)  # idle between requests
        with t.window("request"):
            clock.advance(1.0)
            t.count(requests=1)
    assert t.stop().energy_per() == {"requests": pytest.approx(10.0)}


def test_per_unit_energy_is_the_same_from_the_ledger(clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wattwise.ledger import Ledger

    db = str(tmp_path / "per.db")
    t = tracker(
        readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False, store=db
    ).start()
    with t.window("train"):
        clock.advance(50.0)
    with t.window("serve"):
        clock.advance(5.0)
        t.count(requests=10)
    res = t.stop()
    with Ledger.open(db) as led:
        stored = led.get_run(res.run_id)
    assert stored.energy_per() == {"requests": pytest.approx(50.0)}  # `runs show`: not 550 J

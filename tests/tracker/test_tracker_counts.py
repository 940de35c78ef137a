"""Counts, steps and the sampling interval through the validation boundary (issue 10, 3 and 9)."""

from __future__ import annotations

import json
import math
import tracemalloc

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.api import track
from wattwise.errors import ConfigError
from wattwise.ledger.serialize import run_to_dict
from wattwise.tracker.core import Tracker
from wattwise.validate import MAX_COUNT


def _tracker(clock: FakeClock, power_w: float = 10.0) -> Tracker:
    return Tracker(readers=[CounterReader(clock, power_w)], clock=clock, sampler=False).start()


def test_huge_count_is_ignored_with_a_note_not_an_overflow_in_user_code(clock: FakeClock) -> None:
    with track("big", readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False) as t:
        t.count(tokens=10**400)  # OverflowError inside the user's block before
        t.count(tokens=5)
        clock.advance(1.0)
    res = t.result
    assert res is not None and res.status == "finished"
    assert res.counts == {"tokens": 5.0}
    (note,) = [n for n in res.notes if "count(tokens=" in n]
    assert note.startswith("count(tokens=1000000") and "ignored" in note


@pytest.mark.parametrize(
    ("value", "reason"),
    [(math.nan, "NaN"), (math.inf, "infinite"), (-5, "out of range"), ("many", "not a number")],
)
def test_invalid_count_is_ignored_and_the_run_stays_valid_json(
    clock: FakeClock, value: object, reason: str
) -> None:
    t = _tracker(clock)
    t.count(tokens=value, requests=1)
    clock.advance(2.0)
    res = t.stop()
    assert res.counts == {"requests": 1.0}
    assert "tokens" not in res.energy_per()  # no "0 gCO2e per token" from an inf count
    assert any(f"count(tokens={value!r})" in n and reason in n for n in res.notes)
    doc = json.loads(json.dumps(run_to_dict(res), allow_nan=False))
    assert doc["counts"] == {"requests": 1.0}


def test_repeated_invalid_counts_are_noted_once_and_counted(clock: FakeClock) -> None:
    t = _tracker(clock)
    for _ in range(1000):
        t.count(tokens=math.nan)
    res = t.stop()
    assert sum("count(tokens=nan)" in n for n in res.notes) == 1
    assert any("1000 times in all" in n for n in res.notes)


def test_count_at_the_limit_is_kept() -> None:
    clock = FakeClock()
    t = _tracker(clock)
    t.count(tokens=MAX_COUNT)
    assert t.stop().counts == {"tokens": MAX_COUNT}


def test_step_with_a_huge_n_does_not_allocate_n_entries(clock: FakeClock) -> None:
    t = _tracker(clock, 100.0)
    clock.advance(10.0)
    t.sample()
    tracemalloc.start()
    t.step(10**6)  # the most one report may add ([t] * n before: MemoryError at 10**12)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000
    fc = t.forecast(total_steps=2 * 10**6)
    assert fc.steps_seen == 10**6
    assert fc.energy_j.value == pytest.approx(2000.0, rel=0.01)  # twice the 1,000 J so far
    assert t.stop().counts["steps"] == 1e6


@pytest.mark.parametrize("n", [math.inf, math.nan, -3, 10**400, "x"])
def test_invalid_step_is_ignored_with_a_note(clock: FakeClock, n: object) -> None:
    t = _tracker(clock)
    t.step(n)
    t.step(at_s=math.nan)  # a bad time: marked now, with a note
    res = t.stop()
    assert res.counts == {"steps": 1.0}
    assert any("step(" in note and "ignored" in note for note in res.notes)
    assert any("at_s=nan" in note for note in res.notes)


def test_many_steps_keep_step_marks_bounded_and_forecast_working(clock: FakeClock) -> None:
    t = _tracker(clock, 50.0)
    for i in range(20_000):
        clock.advance(0.1)
        if i % 50 == 0:
            t.sample()
        t.step()
    assert len(t._marks) <= 4096
    fc = t.forecast(total_steps=40_000)
    assert fc.steps_seen == 20_000
    assert fc.mean_step_s == pytest.approx(0.1, rel=0.01)
    assert fc.energy_j.value == pytest.approx(50.0 * 0.1 * 40_000, rel=0.02)
    assert "groups of" in fc.method
    assert t.stop().counts["steps"] == 20_000


def test_steps_marked_late_and_out_of_order_are_put_in_place(clock: FakeClock) -> None:
    t = _tracker(clock, 10.0)
    clock.advance(4.0)
    t.sample()
    t.step(at_s=3.0)
    t.step(at_s=1.0)  # reported late by another process
    t.step(at_s=99.0)  # in the future: clamped to now
    fc = t.forecast(total_steps=3)
    assert fc.duration_s.value == pytest.approx(4.0)
    assert fc.energy_j.value == pytest.approx(40.0)


@pytest.mark.parametrize("interval_s", [math.nan, math.inf, 0, -1, 1e308, "fast"])
def test_bad_interval_is_a_config_error_at_construction(interval_s: object) -> None:
    with pytest.raises(ConfigError, match="interval_s"):
        Tracker(interval_s=interval_s)  # type: ignore[arg-type]


def test_bad_flush_interval_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="flush_interval_s"):
        Tracker(flush_interval_s=math.nan)


@pytest.mark.parametrize("value", [math.nan, math.inf, 10**400])
def test_invalid_count_does_not_break_the_final_write_to_the_ledger(
    clock: FakeClock, tmp_path, value: object  # type: ignore[no-untyped-def]
) -> None:
    # Defect 2: a NaN count failed the final write (NOT NULL constraint failed: counts.count).
    from wattwise.ledger import Ledger

    db = str(tmp_path / "counts.db")
    reader = CounterReader(clock, 2.0)
    with track("nan", readers=[reader], clock=clock, sampler=False, store=db) as t:
        t.count(tokens=value, requests=2)
        clock.advance(1.0)
    assert t.stored is True
    with Ledger.open(db) as led:
        stored = led.get_run(t.run_id)
    assert stored.status == "finished" and stored.counts == {"requests": 2.0}
    assert any("count(tokens=" in n for n in stored.notes)

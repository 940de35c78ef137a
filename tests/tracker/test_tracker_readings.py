"""Reader values are checked where they enter the tracker (issue 10, defect 8; Reading.rebased)."""

from __future__ import annotations

import json
import math

import pytest

from conftest import FakeClock
from tracker.fakes import VANISH, Rebased, ScriptedReader
from wattwise.ledger.serialize import run_to_dict
from wattwise.readers.base import Provenance, Reading
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import RunResult


def _run(clock: FakeClock, reader: ScriptedReader, reads: int, dt_s: float = 1.0) -> RunResult:
    """Start (one read), ``reads - 2`` samples, stop (one read), ``dt_s`` apart."""
    t = Tracker(readers=[reader], clock=clock, sampler=False).start()
    for _ in range(reads - 2):
        clock.advance(dt_s)
        t.sample()
    clock.advance(dt_s)
    return t.stop()


def _comps(res: RunResult) -> dict[str, float]:
    return {c.device_id: c.energy_j for c in res.components}


@pytest.mark.parametrize("bad", [math.nan, -5.0], ids=["nan", "negative"])
def test_one_bad_power_sample_is_a_gap_not_a_zero_total(clock: FakeClock, bad: float) -> None:
    # 100 W, one bad sample in the middle, 100 W again: integrated across the gap, never 0 J.
    res = _run(clock, ScriptedReader(clock, [100.0, 100.0, bad, 100.0, 100.0]), reads=5)
    assert res.energy.total_j == pytest.approx(400.0)
    assert all(math.isfinite(s.power_w or 0.0) and (s.power_w or 0.0) >= 0 for s in res.samples)
    (gap,) = res.gaps
    assert gap.start_s == pytest.approx(2.0) and gap.end_s == pytest.approx(3.0)
    assert "power_w" in gap.error
    assert any("fake:dev" in n and "not used" in n for n in res.notes)


def test_bad_power_sample_at_the_end_is_estimated_from_mean_power(clock: FakeClock) -> None:
    res = _run(clock, ScriptedReader(clock, [50.0, 50.0, 50.0, math.nan]), reads=4)
    comps = _comps(res)
    assert comps["fake:dev"] == pytest.approx(100.0)
    assert comps["fake:dev#gap"] == pytest.approx(50.0)  # 50 W x the 1 s not read
    gap_est = next(c for c in res.components if c.device_id == "fake:dev#gap")
    assert gap_est.provenance is Provenance.ESTIMATED


@pytest.mark.parametrize("field", ["power_w", "energy_j"])
def test_infinite_reading_is_never_stored(clock: FakeClock, field: str) -> None:
    script: list[object] = [0.0, 10.0, math.inf, 30.0] if field == "energy_j" else [10.0] * 2
    if field == "power_w":
        script += [math.inf, 10.0]
    res = _run(clock, ScriptedReader(clock, script, field=field), reads=4)
    for s in res.samples:
        assert s.energy_j is None or math.isfinite(s.energy_j)
        assert s.power_w is None or math.isfinite(s.power_w)
    assert math.isfinite(res.energy.total_j) and res.energy.total_j == pytest.approx(30.0)
    assert any("infinite" in g.error for g in res.gaps)
    json.dumps(run_to_dict(res, include_samples=True), allow_nan=False)


@pytest.mark.parametrize("garbage", ["12 W", "garbage", b"\x00", object(), [1.0], True])
def test_non_numeric_reading_is_a_gap_not_a_type_error(clock: FakeClock, garbage: object) -> None:
    res = _run(clock, ScriptedReader(clock, [0.0, 5.0, garbage, 15.0], field="energy_j"), reads=4)
    assert res.energy.total_j == pytest.approx(15.0)  # the counter difference, exact
    (gap,) = res.gaps
    assert "not a number" in gap.error


def test_numeric_string_reading_is_used(clock: FakeClock) -> None:
    # A reader returning "12.5" (sysfs text) is a number, not garbage.
    res = _run(clock, ScriptedReader(clock, ["0", "12.5"], field="energy_j"), reads=2)
    assert res.energy.total_j == pytest.approx(12.5) and not res.gaps


def test_counter_going_backwards_once_is_a_gap_and_not_counted(clock: FakeClock) -> None:
    # A glitch that reads 5 J once, between 100 and 130 J: refused, and the seconds since the
    # last good reading are estimated (100 W mean) rather than taken from a glitching counter.
    res = _run(clock, ScriptedReader(clock, [0.0, 100.0, 5.0, 130.0], field="energy_j"), reads=4)
    comps = _comps(res)
    assert comps == {"fake:dev": pytest.approx(100.0), "fake:dev#gap": pytest.approx(200.0)}
    (gap,) = res.gaps
    assert gap.error.startswith("counter went backwards (from 100 J to 5 J)")
    assert "estimated" in gap.error


def test_counter_reset_not_flagged_by_the_reader_is_estimated_not_counted(
    clock: FakeClock,
) -> None:
    # 10 W; at t=3 the counter restarts from 0 without ``rebased``: refused until it is back
    # above its last good value (t=5), and those seconds are estimated, never read as 0 J.
    script: list[object] = [0.0, 10.0, 20.0, 0.0, 10.0, 20.0, 30.0]
    res = _run(clock, ScriptedReader(clock, script, field="energy_j"), reads=7)
    comps = _comps(res)
    assert comps["fake:dev"] == pytest.approx(30.0)  # 0-2 s and 5-6 s
    assert comps["fake:dev#gap"] == pytest.approx(30.0)  # 2-5 s at the 10 W mean power
    (gap,) = res.gaps
    assert (gap.start_s, gap.end_s) == (3.0, 5.0) and "backwards" in gap.error


@pytest.mark.parametrize("glitch", [5.0, 999_999_999_999.0], ids=["low", "high"])
def test_counter_glitch_is_a_gap_not_energy(clock: FakeClock, glitch: float) -> None:
    # A counter that reads nonsense for 2 s (issue 10, defect 7 seen from the tracker): an 8 s
    # run at 55 W stays 440 J, not 72.9 Wh.
    script: list[object] = [55.0 * i for i in range(9)]
    script[3] = script[4] = glitch
    res = _run(clock, ScriptedReader(clock, script, field="energy_j"), reads=9)
    assert res.energy.total_j == pytest.approx(440.0)
    assert [(g.start_s, g.end_s) for g in res.gaps] == [(3.0, 5.0)]
    assert any(w in res.gaps[0].error for w in ("backwards", "jumped"))


def test_rebased_reading_counts_the_interval_as_missing_in_run_and_windows(
    clock: FakeClock,
) -> None:
    # 20 W counter; the device vanishes at t=2 and t=3 and comes back rebased at t=4: the
    # energy of 2-4 s is unknown and estimated, in the run and in every window overlapping it.
    script: list[object] = [0.0, 20.0, 40.0, VANISH, VANISH, Rebased(40.0), 60.0, 80.0]
    reader = ScriptedReader(clock, script, field="energy_j")
    t = Tracker(readers=[reader], clock=clock, sampler=False).start()  # read 0 at t=0
    clock.advance(1.0)
    t.sample()  # t=1
    clock.advance(0.5)
    before = t.start_window("before")  # read 2: 40 J at t=1.5
    clock.advance(1.0)
    t.sample()  # t=2.5: vanished
    clock.advance(0.5)
    across = t.start_window("across")  # t=3: vanished
    clock.advance(1.0)
    t.sample()  # t=4: rebased at 40 J
    t.stop_window(before)  # t=4: 60 J
    clock.advance(1.0)
    t.stop_window(across)  # t=5: 80 J
    res = t.stop()  # t=5
    wins = {w.name: w for w in res.windows}
    b = _comps_of(wins["before"])
    a = _comps_of(wins["across"])
    assert b["fake:dev#gap"] > 0 and a["fake:dev#gap"] > 0
    b_missing = next(c.missing_s for c in wins["before"].components if c.device_id == "fake:dev")
    a_missing = next(c.missing_s for c in wins["across"].components if c.device_id == "fake:dev")
    assert b_missing == pytest.approx(2.5)  # lost 1.5-4 (last good at 1.5, rebased at 4)
    assert a_missing == pytest.approx(1.0)  # lost 3-4 of [3, 5]
    run_missing = next(c.missing_s for c in res.components if c.device_id == "fake:dev")
    assert run_missing == pytest.approx(2.5)
    assert any("could not reconcile" in g.error for g in res.gaps)
    assert any("could not reconcile" in n for n in res.notes)


def _comps_of(w: object) -> dict[str, float]:
    return {c.device_id: c.energy_j for c in w.components}  # type: ignore[attr-defined]


def test_reading_for_an_unknown_device_is_ignored_with_one_note(clock: FakeClock) -> None:
    stray = Reading("nvml:GPU-not-opened", 0.0, energy_j=1e9)
    reader = ScriptedReader(clock, [0.0, 10.0, 20.0], field="energy_j", extra=[stray])
    res = _run(clock, reader, reads=3)
    assert {c.device_id for c in res.components} == {"fake:dev"}
    assert res.energy.total_j == pytest.approx(20.0)
    assert sum("did not open" in n for n in res.notes) == 1


def test_fault_notes_once_per_device_and_kind_of_fault(clock: FakeClock) -> None:
    script: list[object] = [1.0, math.nan, 1.0, math.nan, 1.0, -1.0, 1.0, -2.0, 1.0]
    res = _run(clock, ScriptedReader(clock, script), reads=len(script))
    nan_notes = [n for n in res.notes if "NaN" in n and "not used" in n]
    neg_notes = [n for n in res.notes if "out of range" in n and "not used" in n]
    assert len(nan_notes) == 1 and len(neg_notes) == 1
    assert any("2 times in all" in n for n in res.notes)
    assert len(res.gaps) == 4


def test_reader_returning_a_non_list_is_a_gap(clock: FakeClock) -> None:
    class NoneReader(ScriptedReader):
        def read(self) -> list[Reading]:
            return None  # type: ignore[return-value]

    res = _run(clock, NoneReader(clock, [1.0]), reads=3)
    assert res.gaps and res.energy.total_j == 0.0

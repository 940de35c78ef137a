"""Fault injection into the tracker: readers that raise, lie, vanish; a sink that fails.

Whatever a reader or a sink does, the user's code never sees an exception, every total is finite
and >= 0, the fault is visible in the run (a gap with its reason, a note), and the run's JSON
document is valid JSON.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from conftest import FakeClock
from tracker.fakes import RAISE, VANISH, CounterReader, RecordingSink, ScriptedReader
from wattwise.api import track
from wattwise.errors import ReaderError
from wattwise.ledger.serialize import run_to_dict
from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reading
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import RunResult

FAULTS: dict[str, object] = {
    "raise": RAISE,
    "vanish": VANISH,
    "nan": math.nan,
    "negative": -42.0,
    "inf": math.inf,
    "-inf": -math.inf,
    "huge": 1e300,
    "garbage-string": "N/A",
    "empty-string": "",
    "bytes": b"\xff",
    "none": None,
    "object": object(),
}


def _assert_sane(res: RunResult) -> None:
    for c in res.components:
        assert math.isfinite(c.energy_j) and c.energy_j >= 0, c
        assert math.isfinite(c.missing_s) and c.missing_s >= 0, c
    for w in res.windows:
        assert all(math.isfinite(c.energy_j) and c.energy_j >= 0 for c in w.components)
    for s in res.samples:
        assert s.power_w is None or (math.isfinite(s.power_w) and s.power_w >= 0)
        assert s.energy_j is None or (math.isfinite(s.energy_j) and s.energy_j >= 0)
    doc = run_to_dict(res, include_samples=True)
    assert json.loads(json.dumps(doc, allow_nan=False))["run_id"] == res.run_id


@pytest.mark.parametrize("field", ["power_w", "energy_j"])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_faulty_reading_becomes_a_gap_never_an_exception(
    clock: FakeClock, fault: str, where: str, field: str
) -> None:
    # reads: start, window start, 4 samples, window stop, stop
    good = [10.0 * i for i in range(8)] if field == "energy_j" else [10.0] * 8
    script = list(good)
    for pos in {"start": [0], "middle": [3], "end": [6, 7]}[where]:
        script[pos] = FAULTS[fault]
    reader = ScriptedReader(clock, script, field=field)
    with track("faulty", readers=[reader], clock=clock, sampler=False) as t, t.window("w"):
        for _ in range(4):
            clock.advance(1.0)
            t.sample()
        t.count(tokens=1)
        clock.advance(1.0)
    res = t.result
    assert res is not None and res.status == "finished"
    _assert_sane(res)
    if fault != "none" or field == "power_w":  # a None energy on a counter is "no reading"
        assert res.gaps, "the fault must be visible as a gap"
    assert res.gaps[0].error
    if where == "end":
        (dev,) = [c for c in res.components if c.device_id == "fake:dev"]
        assert dev.missing_s > 0
    if fault == "huge":
        assert res.energy.total_j < 1e12  # a glitch, not a reading


def test_reader_vanishing_and_coming_back_loses_no_counter_energy(clock: FakeClock) -> None:
    cpu = CounterReader(clock, 25.0)
    t = Tracker(readers=[cpu], clock=clock, sampler=False).start()
    for i in range(30):
        cpu.fail = 10 <= i < 20
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    _assert_sane(res)
    assert res.energy.total_j == pytest.approx(750.0)  # the counter kept counting
    assert [(g.start_s, g.end_s) for g in res.gaps] == [(11.0, 21.0)]
    assert sum("fell off the bus" in n for n in res.notes) == 1


def test_reader_flapping_for_a_long_run_keeps_notes_and_gaps_bounded(clock: FakeClock) -> None:
    cpu = CounterReader(clock, 5.0)
    t = Tracker(readers=[cpu], clock=clock, sampler=False).start()
    for i in range(6000):
        cpu.fail = i % 2 == 0
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    _assert_sane(res)
    assert len(res.notes) < 20 and len(res.gaps) <= 1000
    assert res.energy.total_j == pytest.approx(30_000.0)


class _WildReader:
    """Returns readings of every wrong shape: wrong ids, wrong types, not readings at all."""

    name = "wild"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.n = 0

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "fake")

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo("wild:0", "gpu", "Wild", Provenance.INTEGRATED, "fake")]

    def read(self) -> list[Reading]:
        self.n += 1
        junk: list[object] = [None, 42, "wild:0", Reading(7, 0.0, power_w=1.0)]  # type: ignore[arg-type]
        if self.n % 3 == 0:
            raise KeyError("not a ReaderError")
        return [*junk, Reading("wild:0", self.clock(), power_w=50.0)]  # type: ignore[list-item]

    def close(self) -> None:
        raise RuntimeError("close fails too")


def test_reader_returning_junk_and_raising_anything_never_reaches_user_code(
    clock: FakeClock,
) -> None:
    t = Tracker(readers=[_WildReader(clock)], clock=clock, sampler=False)
    with t:
        for _ in range(9):
            clock.advance(1.0)
            t.sample()
    res = t.result
    assert res is not None and res.status == "finished"
    _assert_sane(res)
    assert res.energy.total_j == pytest.approx(450.0)  # 50 W across 9 s, gaps interpolated
    assert any("did not open" in n for n in res.notes)
    assert any("not a ReaderError" in n for n in res.notes)


def test_background_sampler_survives_a_reader_that_fails_every_way() -> None:
    script: list[object] = [1.0, RAISE, math.nan, "x", -1.0, VANISH, math.inf, 1.0] * 50
    reader = ScriptedReader(time.monotonic, script)
    with track("bg", readers=[reader], interval_s=0.005) as t:
        time.sleep(0.3)
        t.count(tokens=3)
    res = t.result
    assert res is not None and res.status == "finished" and res.counts == {"tokens": 3.0}
    assert reader.i > 10  # the sampler kept reading
    _assert_sane(res)


def test_sink_that_raises_then_recovers_gets_the_whole_run(clock: FakeClock) -> None:
    sink = RecordingSink()
    reader = ScriptedReader(clock, [1.0, math.nan, 2.0, RAISE, 3.0, 3.0])
    t = Tracker(readers=[reader], clock=clock, sampler=False, sink=sink, flush_interval_s=0.5)
    t.start()
    for i in range(12):
        sink.fail = {"begin_run", "append_samples", "append_gaps", "heartbeat"} if i < 6 else set()
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    _assert_sane(res)
    assert t.stored is True
    assert len({id(s) for s in sink.samples}) == len(sink.samples)  # each written once
    assert list(res.samples) == sink.samples  # every sample reached the sink, in order
    assert sink.gaps  # closed gaps reached the sink too
    assert any("ledger write failed" in n for n in res.notes)


def test_sink_that_never_works_leaves_the_run_in_memory(clock: FakeClock) -> None:
    sink = RecordingSink()
    sink.fail = {"begin_run", "append_samples", "append_gaps", "heartbeat", "finish_run"}
    cpu = CounterReader(clock, 7.0)
    with track("lost-ledger", readers=[cpu], clock=clock, sampler=False, sink=sink) as t:
        for _ in range(5):
            clock.advance(1.0)
            t.sample()
    assert t.stored is False
    res = t.result
    assert res is not None and res.energy.total_j == pytest.approx(35.0)
    assert any("finish_run" in n for n in res.notes)


def test_reader_error_subclass_and_plain_exceptions_are_alike(clock: FakeClock) -> None:
    class Raises(CounterReader):
        def __init__(self, clock: FakeClock, exc: Exception) -> None:
            super().__init__(clock, 1.0)
            self.exc = exc

        def read(self) -> list[Reading]:
            raise self.exc

    readers = [Raises(clock, ReaderError("nvml gone")), Raises(clock, ZeroDivisionError())]
    readers[1].device_id = "fake:other"
    with track("raising", readers=readers, clock=clock, sampler=False) as t:
        clock.advance(1.0)
    res = t.result
    assert res is not None and res.status == "finished"
    assert {g.error for g in res.gaps} == {"nvml gone", "ZeroDivisionError"}

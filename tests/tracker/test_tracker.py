"""The tracker on a fake clock: windows, counters, gaps, provenance mixing."""

from __future__ import annotations

import pytest

import wattwise
from conftest import FakeClock
from tracker.fakes import BrokenReader, CounterReader, PowerReader
from wattwise.api import track, tracker
from wattwise.readers.base import Provenance
from wattwise.tracker.core import Tracker


def _by_device(components):  # type: ignore[no-untyped-def]
    return {c.device_id: c for c in components}


def test_construction_does_nothing(clock: FakeClock) -> None:
    reader = CounterReader(clock, 10.0)
    t = Tracker(readers=[reader], clock=clock, sampler=False)
    assert t.status == "created"
    assert reader.reads == 0


def test_run_energy_is_counter_difference(clock: FakeClock) -> None:
    t = Tracker("job", readers=[CounterReader(clock, 50.0)], clock=clock, sampler=False).start()
    clock.advance(4.0)
    res = t.stop()
    assert res.duration_s == pytest.approx(4.0)
    (c,) = res.components
    assert c.energy_j == pytest.approx(200.0)
    assert c.provenance is Provenance.MEASURED
    assert res.energy.label == "measured"
    assert res.mean_power_w() == pytest.approx(50.0)


def test_short_window_is_exact(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 123.0)], clock=clock, sampler=False).start()
    clock.advance(1.0)
    with t.window("short") as w:
        clock.advance(0.05)
    clock.advance(1.0)
    t.stop()
    assert w.result is not None
    assert w.result.duration_s == pytest.approx(0.05)
    assert w.result.energy.total_j == pytest.approx(123.0 * 0.05)


def test_nested_and_overlapping_windows(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    a = t.start_window("a")
    clock.advance(1.0)
    b = t.start_window("b")  # nested in a
    clock.advance(2.0)
    t.stop_window(a)  # a closes before b: overlapping
    clock.advance(3.0)
    t.stop_window(b)
    res = t.stop()
    wins = {w.name: w for w in res.windows}
    assert wins["a"].energy.total_j == pytest.approx(30.0)
    assert wins["b"].energy.total_j == pytest.approx(50.0)
    assert wins["b"].parent == "a"
    assert res.energy.total_j == pytest.approx(60.0)


def test_counts_per_unit_for_run_and_windows(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 20.0)], clock=clock, sampler=False).start()
    with t.window("decode") as w:
        clock.advance(2.0)
        t.count(tokens=10)
    clock.advance(1.0)
    t.count(tokens=20, requests=1)
    res = t.stop()
    assert w.result is not None
    assert w.result.energy_per() == {"tokens": pytest.approx(4.0)}
    assert res.energy_per() == {"tokens": pytest.approx(2.0), "requests": pytest.approx(60.0)}


def test_power_only_device_is_integrated(clock: FakeClock) -> None:
    gpu = PowerReader(clock, 100.0)
    t = Tracker(readers=[gpu], clock=clock, sampler=False).start()
    clock.advance(1.0)
    gpu.power_w = 300.0
    t.sample()
    clock.advance(1.0)
    res = t.stop()
    (c,) = res.components
    # trapezoids: (100+300)/2 * 1 + (300+300)/2 * 1
    assert c.energy_j == pytest.approx(500.0)
    assert c.provenance is Provenance.INTEGRATED


def test_mixed_total_says_so(clock: FakeClock) -> None:
    t = Tracker(
        readers=[CounterReader(clock, 10.0), PowerReader(clock, 10.0)], clock=clock, sampler=False
    ).start()
    clock.advance(1.0)
    res = t.stop()
    assert res.energy.mixed
    assert res.energy.label == "mixed: measured + integrated"
    assert res.energy.provenance is Provenance.INTEGRATED


def test_reader_failing_mid_run_becomes_gap_and_estimate(clock: FakeClock) -> None:
    cpu = CounterReader(clock, 10.0)
    t = Tracker(readers=[cpu], clock=clock, sampler=False).start()
    clock.advance(2.0)
    t.sample()
    cpu.fail = True
    clock.advance(1.0)
    t.sample()  # must not raise
    clock.advance(1.0)
    res = t.stop()  # still failing at the end
    comps = _by_device(res.components)
    assert comps["fake:cpu"].energy_j == pytest.approx(20.0)
    assert comps["fake:cpu"].missing_s == pytest.approx(2.0)
    est = comps["fake:cpu#gap"]
    assert est.provenance is Provenance.ESTIMATED
    assert est.energy_j == pytest.approx(20.0)  # 10 W mean power x 2 s
    assert res.energy.mixed
    assert len(res.gaps) == 1 and res.gaps[0].end_s is None
    assert any("device fell off the bus" in n for n in res.notes)


def test_counter_recovering_after_gap_loses_nothing(clock: FakeClock) -> None:
    cpu = CounterReader(clock, 10.0)
    t = Tracker(readers=[cpu], clock=clock, sampler=False).start()
    cpu.fail = True
    clock.advance(1.0)
    t.sample()
    cpu.fail = False
    clock.advance(1.0)
    res = t.stop()
    comps = _by_device(res.components)
    assert comps["fake:cpu"].energy_j == pytest.approx(20.0)
    assert "fake:cpu#gap" not in comps
    assert res.gaps[0].start_s == pytest.approx(1.0) and res.gaps[0].end_s == pytest.approx(2.0)


def test_broken_reader_never_raises(clock: FakeClock) -> None:
    t = Tracker(readers=[BrokenReader(), CounterReader(clock, 5.0)], clock=clock, sampler=False)
    with t:
        clock.advance(1.0)
    assert t.result is not None
    assert t.result.energy.total_j == pytest.approx(5.0)
    assert any("broken" in n for n in t.result.notes)


def test_exception_in_user_code_marks_run_failed(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 5.0)], clock=clock, sampler=False)
    with pytest.raises(ZeroDivisionError), t:
        clock.advance(1.0)
        1 / 0  # noqa: B018
    assert t.result is not None and t.result.status == "failed"
    assert t.result.energy.total_j == pytest.approx(5.0)


def test_track_decorator_creates_a_fresh_tracker_per_call(clock: FakeClock) -> None:
    reader = CounterReader(clock, 2.0)
    deco = track("fn", readers=[reader], clock=clock, sampler=False)

    @deco
    def work(dt: float) -> float:
        clock.advance(dt)
        return dt

    assert work(1.0) == 1.0
    first = deco.result
    work(3.0)
    assert first is not None and deco.result is not None
    assert first.run_id != deco.result.run_id
    assert deco.result.energy.total_j == pytest.approx(6.0)


def test_public_api_is_lazy() -> None:
    assert wattwise.track is track
    assert wattwise.Tracker is Tracker
    with pytest.raises(AttributeError):
        _ = wattwise.does_not_exist  # type: ignore[attr-defined]


def test_background_sampler_builds_timeline() -> None:
    import time

    reader = CounterReader(time.monotonic, 10.0)
    with Tracker(readers=[reader], interval_s=0.02) as t:
        time.sleep(0.2)
    assert t.result is not None
    assert len(t.result.samples) >= 4
    powers = [s.power_w for s in t.result.samples if s.power_w is not None]
    assert powers and all(p == pytest.approx(10.0, rel=0.05) for p in powers)


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.samples = 0

    def begin_run(self, *args: object) -> None:
        self.calls.append("begin")

    def append_samples(self, run_id: str, samples: list[object]) -> None:
        self.samples += len(samples)

    def append_gaps(self, run_id: str, gaps: list[object]) -> None:
        self.calls.append("gaps")

    def heartbeat(self, run_id: str) -> None:
        self.calls.append("heartbeat")

    def finish_run(self, result: object) -> None:
        self.calls.append("finish")


def test_sink_receives_incremental_samples(clock: FakeClock) -> None:
    sink = RecordingSink()
    t = Tracker(
        readers=[CounterReader(clock, 1.0)],
        clock=clock,
        sampler=False,
        sink=sink,
        flush_interval_s=1.0,
    ).start()
    for _ in range(5):
        clock.advance(0.5)
        t.sample()
    t.stop()
    assert sink.calls[0] == "begin" and sink.calls[-1] == "finish"
    assert sink.calls.count("heartbeat") >= 2
    assert sink.samples == 7  # start + 5 samples + stop


def test_failing_sink_becomes_a_note(clock: FakeClock) -> None:
    class Bad(RecordingSink):
        def begin_run(self, *args: object) -> None:
            raise OSError("disk full")

    t = Tracker(readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False, sink=Bad())
    t.start()
    clock.advance(1.0)
    res = t.stop()
    assert any("disk full" in n for n in res.notes)


def test_psys_is_reported_but_not_added_to_package(clock: FakeClock) -> None:
    pkg = CounterReader(clock, 30.0, device_id="rapl:package-0", kind="cpu")
    psys = CounterReader(clock, 45.0, device_id="rapl:psys", kind="psys")
    t = Tracker(readers=[pkg, psys], clock=clock, sampler=False).start()
    clock.advance(2.0)
    res = t.stop()
    assert {c.device_id for c in res.components} == {"rapl:package-0", "rapl:psys"}
    assert res.energy.total_j == pytest.approx(60.0)


def test_forecast_from_steps_narrows(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False).start()
    bands = []
    for i in range(1, 21):
        clock.advance(2.0 if i % 2 else 2.2)  # steps of 2.0-2.2 s at 100 W
        t.sample()
        t.step()
        if i in (5, 20):
            bands.append(t.forecast(total_steps=40))
    early, late = bands
    # 20 steps of 2.1 s mean at 100 W: the whole run of 40 steps is ~8,400 J and ~84 s
    assert late.energy_j.value == pytest.approx(8400, rel=0.01)
    assert late.duration_s.value == pytest.approx(84, rel=0.01)
    assert late.energy_j.low <= late.energy_j.value <= late.energy_j.high
    width = lambda b: b.high - b.low  # noqa: E731
    assert width(late.energy_j) < width(early.energy_j)
    assert t.stop().counts["steps"] == 20


def test_forecast_without_steps_is_a_clear_error(clock: FakeClock) -> None:
    from wattwise.errors import ConfigError

    t = Tracker(readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False).start()
    with pytest.raises(ConfigError, match="no step"):
        t.forecast(total_steps=10)


def test_store_writes_the_run_to_the_ledger(clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wattwise.ledger import Ledger

    db = tmp_path / "store.db"
    with track(
        "stored", readers=[CounterReader(clock, 3.0)], clock=clock, sampler=False, store=str(db)
    ) as t:
        clock.advance(2.0)
        t.count(tokens=4)
    with Ledger.open(str(db)) as led:
        (summary,) = led.list_runs()
        assert summary.name == "stored" and summary.status == "finished"
        assert summary.total_energy_j == pytest.approx(6.0)
        assert led.get_run(summary.run_id).counts == {"tokens": 4.0}


def test_store_on_an_unusable_ledger_is_a_note(clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    t = tracker(
        readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False, store=str(blocker / "l.db")
    )
    with t:
        clock.advance(1.0)
    assert t.result is not None and any("ledger not used" in n for n in t.result.notes)

"""A failing sink is kept: records retried, backlog bounded (issue 10, tracker side of 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader, RecordingSink
from wattwise.api import tracker
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import Sample
from wattwise.tracker.notes import NoteLog
from wattwise.tracker.sink import SinkBuffer


def _tracker(clock: FakeClock, sink: RecordingSink) -> Tracker:
    return Tracker(
        readers=[CounterReader(clock, 10.0)],
        clock=clock,
        sampler=False,
        sink=sink,
        flush_interval_s=1.0,
    ).start()


def test_sink_failing_mid_run_is_kept_and_every_sample_arrives(clock: FakeClock) -> None:
    sink = RecordingSink()
    t = _tracker(clock, sink)
    sink.fail = {"append_samples", "heartbeat"}  # a ledger locked for a while
    for _ in range(10):
        clock.advance(1.0)
        t.sample()
    sink.fail = set()  # the lock is released
    for _ in range(5):
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    assert len(sink.samples) == 17  # start + 15 samples + stop: none lost, none twice
    assert [s.t_s for s in sink.samples] == sorted(s.t_s for s in sink.samples)  # type: ignore[attr-defined]
    assert sink.finished and t.stored is True
    failed = [n for n in res.notes if n.startswith("ledger write failed (append_samples)")]
    assert len(failed) == 2 and "retried" in failed[0] and "times in all" in failed[1]
    assert res.energy.total_j == pytest.approx(150.0)


def test_sink_failing_at_begin_is_retried_and_the_run_still_lands(clock: FakeClock) -> None:
    sink = RecordingSink()
    sink.fail = {"begin_run"}
    t = _tracker(clock, sink)
    clock.advance(1.0)
    t.sample()
    assert "append_samples" not in sink.calls  # nothing appended to a run not begun
    sink.fail = set()
    clock.advance(1.0)
    t.sample()
    res = t.stop()
    assert sink.calls.count("begin_run") >= 2
    assert len(sink.samples) == 4 and sink.finished
    assert any("begin_run" in n for n in res.notes)


def test_sink_failing_at_the_final_write_says_so(clock: FakeClock) -> None:
    sink = RecordingSink()
    sink.fail = {"finish_run"}
    t = _tracker(clock, sink)
    clock.advance(1.0)
    res = t.stop()
    assert t.stored is False
    assert any("ledger write failed (finish_run)" in n for n in res.notes)
    assert res.energy.total_j == pytest.approx(10.0)  # the run is kept in memory


def test_final_write_has_no_samples_when_all_were_streamed(clock: FakeClock) -> None:
    sink = RecordingSink()
    t = _tracker(clock, sink)
    clock.advance(1.0)
    res = t.stop()
    (final,) = sink.finished
    assert final.samples == () and res.samples  # type: ignore[attr-defined]


def test_sink_backlog_is_bounded_and_drops_are_counted() -> None:
    sink = RecordingSink()
    notes = NoteLog()
    buf = SinkBuffer(sink, "r", notes, max_samples=5)
    buf.begin("r", "n", "2026-01-01T00:00:00+00:00", None, {}, [])
    sink.fail = {"append_samples"}
    for i in range(12):
        buf.add_sample(Sample("d", float(i), 1.0, float(i)))
        buf.flush()
    assert buf.backlog == 5 and buf.dropped_samples == 7
    sink.fail = set()
    buf.flush()
    assert [s.t_s for s in sink.samples] == [7.0, 8.0, 9.0, 10.0, 11.0]  # type: ignore[attr-defined]
    assert any("oldest are dropped" in n for n in notes.all())


def test_store_keeps_full_resolution_samples_beyond_the_in_memory_timeline(
    clock: FakeClock, tmp_path: Path
) -> None:
    from wattwise.ledger import Ledger

    db = tmp_path / "long.db"
    t = tracker(
        readers=[CounterReader(clock, 4.0)],
        clock=clock,
        sampler=False,
        store=str(db),
        flush_interval_s=500.0,
    ).start()
    for _ in range(9000):
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    assert len(res.samples) <= 4097  # downsampled in memory
    assert res.energy.total_j == pytest.approx(36_000.0)  # totals from the boundaries
    import io
    import json

    with Ledger.open(str(db)) as led:
        stored = led.get_run(res.run_id)  # a bounded timeline for display
        buf = io.StringIO()
        led.export("json", buf, [res.run_id], include_samples=True)
    (doc,) = json.loads(buf.getvalue())
    assert len(doc["samples"]) == 9002  # streamed at full resolution, not replaced
    assert len(stored.samples) <= 4097
    assert stored.energy.total_j == pytest.approx(36_000.0)


class _SlowBeginSink(RecordingSink):
    """A ledger slow to take the first write (a lock waited out): begin_run takes 3 s."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def begin_run(self, *args: object) -> None:
        self.clock.advance(3.0)
        super().begin_run(*args)


def test_slow_ledger_begin_is_not_counted_in_run_duration_or_energy(clock: FakeClock) -> None:
    sink = _SlowBeginSink(clock)
    t = _tracker(clock, sink)
    clock.advance(2.0)
    res = t.stop()
    assert sink.calls[0] == "begin_run"
    assert res.duration_s == pytest.approx(2.0)
    assert res.energy.total_j == pytest.approx(20.0)  # 10 W x 2 s, not x 5 s


def test_further_sinks_get_the_run_and_their_failures_are_notes_not_stored(
    clock: FakeClock, tmp_path: Path
) -> None:
    from wattwise.ledger import Ledger

    good, broken = RecordingSink(), RecordingSink()
    broken.fail = {"append_samples", "finish_run"}
    broken.what = "MLflow"  # type: ignore[attr-defined]
    db = tmp_path / "l.db"
    t = tracker("multi", readers=[CounterReader(clock, 5.0)], clock=clock, sampler=False,
                store=str(db), sinks=[good, broken], flush_interval_s=0.0).start()  # fmt: skip
    for _ in range(3):
        clock.advance(1.0)
        t.sample()
    result = t.stop()
    assert good.calls[0] == "begin_run" and good.calls[-1] == "finish_run"
    assert len(good.finished) == 1 and good.samples  # samples streamed as to the ledger
    assert broken.calls.count("finish_run") == 1  # tried once, never raised into the caller
    assert any(n.startswith("MLflow write failed (finish_run)") for n in result.notes)
    assert not any(n.startswith("ledger write failed") for n in result.notes)
    assert t.stored is True  # the ledger decides: a failing further sink does not
    with Ledger.open(str(db)) as led:
        assert led.get_run(result.run_id).status == "finished"

"""The in-memory timeline stays bounded for any run length (issue 10, tracker half of 19)."""

from __future__ import annotations

import itertools

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader, PowerReader
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import Sample
from wattwise.tracker.timeline import StepMarks, Timeline


def _counter_samples(n: int, power_w: float = 5.0) -> list[Sample]:
    return [Sample("d", float(i), power_w, power_w * i) for i in range(n)]


def test_timeline_is_bounded_and_exact_at_the_points_kept() -> None:
    tl = Timeline(max_points_per_device=64)
    for s in _counter_samples(100_000):
        tl.add(s)
    pts = tl.device_points("d")
    assert len(pts) <= 64
    assert pts[0].t_s == 0.0 and pts[-1].t_s == 99_999.0  # the whole run, to its last reading
    assert all(p.energy_j == pytest.approx(5.0 * p.t_s) for p in pts)  # cumulative exact
    assert all(p.power_w == pytest.approx(5.0) for p in pts[1:])
    gaps = [b.t_s - a.t_s for a, b in itertools.pairwise(pts[:-1])]
    assert max(gaps) <= 2 * min(gaps)  # uniform over the run, not only the recent part


def test_downsampled_power_is_the_mean_since_the_previous_point() -> None:
    tl = Timeline(max_points_per_device=8)
    cum = 0.0
    for i in range(64):  # alternating 0 W / 10 W seconds
        tl.add(Sample("d", float(i), 10.0 * (i % 2), cum))
        cum += 10.0 * ((i + 1) % 2)
    pts = tl.device_points("d")
    for a, b in itertools.pairwise(pts):
        assert b.power_w == pytest.approx((b.energy_j - a.energy_j) / (b.t_s - a.t_s))  # type: ignore[operator]


def test_total_energy_interpolates_every_device() -> None:
    tl = Timeline()
    for i in range(5):
        tl.add(Sample("a", float(i), 1.0, 1.0 * i))
        tl.add(Sample("b", float(i) + 0.5, 2.0, 2.0 * i))
    assert tl.total_energy_at([0.0, 2.0, 10.0]) == pytest.approx([0.0, 2.0 + 3.0, 4.0 + 8.0])


def test_run_memory_is_bounded_and_totals_do_not_depend_on_it(clock: FakeClock) -> None:
    gpu = PowerReader(clock, 300.0)
    t = Tracker(readers=[CounterReader(clock, 50.0), gpu], clock=clock, sampler=False).start()
    for _ in range(20_000):
        clock.advance(1.0)
        t.sample()
    res = t.stop()
    assert len(res.samples) <= 2 * 4097
    assert {s.device_id for s in res.samples} == {"fake:cpu", "fake:gpu"}
    comps = {c.device_id: c.energy_j for c in res.components}
    assert comps == {"fake:cpu": pytest.approx(1e6), "fake:gpu": pytest.approx(6e6)}
    last_gpu = max((s for s in res.samples if s.device_id == "fake:gpu"), key=lambda s: s.t_s)
    assert last_gpu.t_s == pytest.approx(20_000.0) and last_gpu.energy_j == pytest.approx(6e6)


def test_step_marks_merge_but_keep_the_count() -> None:
    marks = StepMarks(max_marks=16)
    for i in range(1, 1001):
        marks.add(float(i), 1)
    assert len(marks) < 16 and marks.total == 1000
    bounds, g = marks.step_bounds(max_steps=100)
    assert g == 10 and len(bounds) == 101
    assert bounds[-1] == pytest.approx(1000.0)


def test_windows_beyond_the_bound_are_merged_per_name_and_add_up(clock: FakeClock) -> None:
    from wattwise.tracker.windows import MAX_WINDOWS

    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    n = MAX_WINDOWS + 500
    with t.window("serve"):
        for _ in range(n - 1):
            with t.window("request"):
                clock.advance(0.1)
                t.count(requests=1)
            clock.advance(0.1)
    res = t.stop()
    assert len(res.windows) <= MAX_WINDOWS + 2
    requests = [w for w in res.windows if w.name == "request"]
    assert sum(w.counts["requests"] for w in requests) == n - 1
    assert sum(w.energy.total_j for w in requests) == pytest.approx(10.0 * 0.1 * (n - 1))
    assert res.energy_per()["requests"] == pytest.approx(2.0)  # the serve window: 0.2 s each
    assert any("merged into one" in note for note in res.notes)


def test_two_windows_with_the_same_name_and_start_are_distinct(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False).start()
    a = t.start_window("x")
    b = t.start_window("x")
    clock.advance(1.0)
    t.stop_window(b)
    clock.advance(1.0)
    t.stop_window(a)
    assert a.result is not None and b.result is not None
    assert (a.result.duration_s, b.result.duration_s) == (pytest.approx(2.0), pytest.approx(1.0))

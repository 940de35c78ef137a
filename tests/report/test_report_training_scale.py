"""A training workload's report speaks per training run, not per request (issue 11 B12)."""

from __future__ import annotations

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.accounting.context import Context
from wattwise.audit.scaling import training_scale
from wattwise.report.measured import scale_section
from wattwise.tracker.core import Tracker


def test_training_scale_section_is_per_training_run(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False).start()
    with t.window("train"):
        for _ in range(4):
            clock.advance(2.0)
            t.step()
    sc = {**training_scale(t.stop(), Context(country="FR")), "workload": "train"}
    html = scale_section({"scale": sc})
    assert "per training run" in html and "training workload" in html
    assert "per day" not in html and "s per day" not in html
    assert "per step" in html  # the run's energy per step, from the window that counted it

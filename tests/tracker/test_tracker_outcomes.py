"""How a tracked block ends, and calls on a tracker whose run has ended (issue 10, defect 15)."""

from __future__ import annotations

import sys
import warnings

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.api import track
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import RunResult


def _tracked(clock: FakeClock, exc: BaseException) -> RunResult:
    with (
        pytest.raises(type(exc)),
        track("job", readers=[CounterReader(clock, 5.0)], clock=clock, sampler=False) as t,
    ):
        clock.advance(1.0)
        raise exc
    assert t.result is not None
    assert t.result.energy.total_j == pytest.approx(5.0)
    return t.result


def test_keyboard_interrupt_marks_the_run_interrupted(clock: FakeClock) -> None:
    res = _tracked(clock, KeyboardInterrupt())
    assert res.status == "interrupted"
    assert any("KeyboardInterrupt" in n for n in res.notes)


@pytest.mark.parametrize("code", [0, None])
def test_sys_exit_zero_marks_the_run_finished(clock: FakeClock, code: int | None) -> None:
    res = _tracked(clock, SystemExit(code))
    assert res.status == "finished" and res.exit_code == 0


@pytest.mark.parametrize(("code", "exit_code"), [(3, 3), ("fatal: no data", 1)])
def test_sys_exit_nonzero_marks_the_run_failed_with_its_code(
    clock: FakeClock, code: object, exit_code: int
) -> None:
    res = _tracked(clock, SystemExit(code))
    assert res.status == "failed" and res.exit_code == exit_code


def test_real_sys_exit_in_a_decorated_function_is_finished(clock: FakeClock) -> None:
    deco = track("fn", readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False)

    @deco
    def main() -> None:
        clock.advance(2.0)
        sys.exit(0)

    with pytest.raises(SystemExit):
        main()
    assert deco.result is not None and deco.result.status == "finished"


def test_calls_on_a_closed_tracker_warn_once_and_do_nothing(clock: FakeClock) -> None:
    with track("done", readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False) as t:
        clock.advance(1.0)
        t.count(tokens=1)
    res = t.result
    assert res is not None
    with pytest.warns(RuntimeWarning, match="after its run ended") as record:
        t.count(tokens=5)
        t.step(3)
        w = t.start_window("late")
        with t.window("later"):
            clock.advance(1.0)
        assert t.stop_window(w) is None
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.count(tokens=1)  # silent from now on, never raises
    assert t.stop() is res
    assert res.counts == {"tokens": 1.0} and not res.windows


def test_stop_twice_returns_the_same_result(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False).start()
    first = t.stop(status="interrupted")
    clock.advance(5.0)
    assert t.stop() is first and first.status == "interrupted"


def test_run_metadata_helpers_match_the_stdlib_they_replace() -> None:
    """Start-up shortcuts (no uuid / datetime / platform subprocess) give the same strings."""
    import datetime
    import platform
    import time
    import uuid

    from wattwise.tracker.outcome import host_info, new_run_id, utc_stamp

    u = uuid.UUID(hex=new_run_id())
    assert u.version == 4 and u.variant == uuid.RFC_4122
    assert len({new_run_id() for _ in range(100)}) == 100
    t = 1764603000.25
    assert utc_stamp(t) == datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(
        timespec="milliseconds"
    )
    assert utc_stamp(time.time()).endswith("+00:00")
    assert host_info()["platform"] == platform.platform()
    assert host_info()["python"] == platform.python_version()

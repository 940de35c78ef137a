"""``wattwise run --deadline``: the plan, a countdown on an injected clock, pausing, storing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psutil
import pytest

from wattwise.cli import main, schedule_run
from wattwise.ledger import Ledger
from wattwise.schedule.control import Pauser, signal_tree, wait_until

T0 = datetime(2022, 6, 15, tzinfo=timezone.utc)


class FakeClock:
    """UTC time moved by ``sleep`` (no real waiting)."""

    def __init__(self, t: datetime) -> None:
        self.t = t
        self.slept_s = 0.0

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        self.slept_s += seconds


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    c = FakeClock(T0)
    schedule_run.CLOCK[:] = [c]
    yield c
    schedule_run.CLOCK.clear()


def test_countdown_waits_on_the_injected_clock() -> None:
    c = FakeClock(T0)
    said: list[str] = []
    n = wait_until(T0 + timedelta(hours=2), c, said.append, every_s=600)
    assert c.now() == T0 + timedelta(hours=2) and n == 12
    assert said[0].startswith("wattwise: starting in 2h00m")


def _run_ciso(*flags: str, command: list[str], deadline: str = "2022-06-16T00:00Z") -> int:
    """``wattwise run`` of a 4 h job on the CISO grid before ``deadline``."""
    argv = ["run", "--deadline", deadline, "--duration", "4h", "--grid", "CISO", *flags]
    return main([*argv, "--", *command])


def test_run_waits_for_the_planned_start_and_stores_the_plan(
    clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_ciso("--quiet", command=[sys.executable, "-c", "pass"])
    assert code == 0
    err = capsys.readouterr().err
    assert "starting in 15h00m" in err and "plan: run in CISO 2022-06-15T15:00Z" in err
    assert clock.now() == T0 + timedelta(hours=15)  # waited until the plan's start, no longer
    led = Ledger.open(None, readonly=True)
    try:
        run = led.list_runs(limit=1)[0]
        extra = led.get_extra(run.run_id)["schedule"]
    finally:
        led.close()
    assert extra["plan"]["start_utc"] == "2022-06-15T15:00Z"
    assert extra["saving_fraction"] == pytest.approx(0.29, abs=0.005)
    applied = extra["applied"]
    expected = (
        applied["energy_kwh_measured"]
        * (extra["now"]["mean_g_per_kwh"] - extra["plan"]["mean_g_per_kwh"])
        / 1000
    )
    assert applied["co2e_saved_kg"] == pytest.approx(expected)


def test_dry_run_prints_the_plan_and_runs_nothing(
    clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_ciso("--dry-run", command=["false"])
    assert code == 0 and clock.slept_s == 0
    assert "saving:" in capsys.readouterr().err


def test_deadline_options_are_checked(clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--deadline", "2022-06-16T00:00Z", "--grid", "CISO", "--", "true"]) == 2
    assert "--duration" in capsys.readouterr().err
    assert _run_ciso(command=["true"], deadline="2022-06-15T02:00Z") == 2
    assert "shorter than the job" in capsys.readouterr().err


def _wait_status(pid: int, stopped: bool) -> bool:
    """Whether the process reaches (or leaves) the stopped state within 2 s."""
    for _ in range(100):
        if (psutil.Process(pid).status() == psutil.STATUS_STOPPED) == stopped:
            return True
        time.sleep(0.02)
    return False


def test_pauser_stops_the_command_between_pieces_and_continues_it() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pieces = ((T0, T0 + timedelta(hours=1)), (T0 + timedelta(hours=3), T0 + timedelta(hours=4)))
        c = FakeClock(T0)
        p = Pauser(pieces, lambda: proc.pid, c)
        p.step(T0 + timedelta(minutes=30))
        assert not p.paused
        p.step(T0 + timedelta(hours=2))
        assert p.paused and _wait_status(proc.pid, stopped=True)
        p.step(T0 + timedelta(hours=3, minutes=1))
        assert not p.paused and _wait_status(proc.pid, stopped=False)
        p.step(T0 + timedelta(hours=2, minutes=30))  # paused again ...
        assert p.paused
        p.stop()  # ... and never left stopped
        assert not p.paused and p.pauses == 2
    finally:
        signal_tree(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()


def test_the_pauser_thread_follows_its_clock() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pieces = ((T0, T0 + timedelta(hours=1)), (T0 + timedelta(hours=3), T0 + timedelta(hours=4)))
        c = FakeClock(T0 + timedelta(hours=2))  # between the pieces
        p = Pauser(pieces, lambda: proc.pid, c, tick_s=0.01)
        p.start()
        assert _wait_status(proc.pid, stopped=True)
        c.t = T0 + timedelta(hours=3, minutes=30)  # the second piece
        assert _wait_status(proc.pid, stopped=False)
        p.stop()
        assert p.pauses == 1 and not p.paused
    finally:
        signal_tree(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()

"""wattwise.progress: the fraction and ETA model, plain lines through a pipe, a live bar through
a real pseudo-terminal, the fallback without rich (B14)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap

from cli.clirun import cli_env
from conftest import FakeClock
from ptyrun import run_in_pty
from wattwise.progress import (
    CAP,
    Progress,
    as_reporter,
    format_eta,
    lab_expected_s,
    plain_text,
    spans,
)

#: Anything but a newline below 0x20, DEL, C1 controls, and an ANSI escape's introducer.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]")

SCRIPT = textwrap.dedent(
    """
    import sys, time
    {prelude}
    from wattwise.progress import Progress
    with Progress("demo") as p:
        p.phase(0.0, 0.5, "[1/2] first step", expected_s=0.8)
        time.sleep(0.6)
        p("detail inside the first step [/] [bold]not markup")
        with p.hold():
            sys.stderr.write("a command writing to the terminal\\n"); sys.stderr.flush()
        p.phase(0.5, 1.0, "[2/2] second step", expected_s=0.6)
        time.sleep(0.7)
        p.finish("all done")
    print("summary line")
    """
)


def _script(prelude: str = "") -> list[str]:
    return [sys.executable, "-c", SCRIPT.format(prelude=prelude)]


def test_eta_comes_from_the_expected_seconds_and_the_elapsed_time(clock: FakeClock) -> None:
    p = Progress("t", stream=io.StringIO(), bar=False, clock=clock)
    p.phase(0.0, 1.0, "lab", expected_s=100.0)
    assert p.eta_s() is None  # nothing done yet: no ETA from nothing
    clock.advance(25.0)
    assert abs(p.fraction() - 0.25) < 1e-9
    assert abs((p.eta_s() or 0) - 75.0) < 1e-6
    clock.advance(50.0)
    assert abs((p.eta_s() or 0) - 25.0) < 1e-6


def test_an_overrunning_phase_stops_short_of_its_end_and_has_no_eta(clock: FakeClock) -> None:
    p = Progress("t", stream=io.StringIO(), bar=False, clock=clock)
    p.phase(0.0, 0.5, "measure", expected_s=10.0)
    clock.advance(30.0)
    assert abs(p.fraction() - 0.5 * CAP) < 1e-9  # never 100 % of a phase that still runs
    assert p.eta_s() is None
    assert format_eta(p.eta_s()) == "ETA —"


def test_a_phase_of_unknown_length_holds_the_bar_and_has_no_eta(clock: FakeClock) -> None:
    p = Progress("t", stream=io.StringIO(), bar=False, clock=clock)
    p.phase(0.0, 0.2, "a", expected_s=1.0)
    clock.advance(1.0)
    p.phase(0.2, 0.9, "a user's command")  # no expected seconds
    clock.advance(100.0)
    assert abs(p.fraction() - 0.2) < 1e-9
    assert p.eta_s() is None
    p.phase(0.9, 1.0, "after", expected_s=1.0)
    clock.advance(0.5)
    f = p.fraction()
    assert 0.9 < f < 1.0
    eta = p.eta_s()
    assert eta is not None and abs(eta - p.elapsed_s * (1 - f) / f) < 1e-6


def test_the_bar_never_goes_back(clock: FakeClock) -> None:
    p = Progress("t", stream=io.StringIO(), bar=False, clock=clock)
    p.phase(0.0, 0.6, "a", expected_s=1.0)
    clock.advance(5.0)
    reached = p.fraction()
    p.phase(0.3, 0.8, "a phase that starts before the bar", expected_s=10.0)
    assert p.fraction() >= reached


def test_spans_weigh_phases_by_expected_seconds() -> None:
    assert spans([1.0, 3.0]) == [(0.0, 0.25), (0.25, 1.0)]
    unknown = spans([None, 2.0, 2.0])  # unknown weighs as the known ones together
    assert unknown[0] == (0.0, 0.5) and abs(unknown[-1][1] - 1.0) < 1e-9
    assert lab_expected_s(30.0, 4) > 30.0  # the budget plus measuring the variants


def test_plain_mode_writes_one_stamped_line_per_phase_and_message(clock: FakeClock) -> None:
    out = io.StringIO()
    p = Progress("t", stream=out, bar=False, clock=clock)
    p.phase(0.0, 0.5, "[1/2] one", expected_s=1.0)
    clock.advance(3.0)
    p("inside\x1b[31m one\r")  # a message with control characters is cleaned
    p.phase(0.5, 1.0, "[2/2] two")
    p.finish()
    lines = out.getvalue().splitlines()
    assert lines == ["[    0s] [1/2] one", "[    3s] inside[31m one", "[    3s] [2/2] two"]
    assert not CONTROL.search(out.getvalue())


def test_a_plain_say_callable_is_a_reporter_of_lines() -> None:
    said: list[str] = []
    rep = as_reporter(said.append)
    rep.phase(0.0, 0.5, "[1/2] one", expected_s=2.0)
    with rep.hold():
        rep("two")
    assert said == ["[1/2] one", "two"]
    assert as_reporter(Progress("t", stream=io.StringIO(), bar=False)) is not None


def test_progress_through_a_pipe_is_plain_lines_without_control_characters() -> None:
    p = subprocess.run(_script(), capture_output=True, text=True, env=cli_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    assert not CONTROL.search(p.stderr), repr(p.stderr)
    assert "ETA" not in p.stderr  # no bar at all
    lines = p.stderr.splitlines()
    assert [ln.split("] ", 1)[1] for ln in lines if ln.startswith("[")] == [
        "[1/2] first step",
        "detail inside the first step [/] [bold]not markup",
        "[2/2] second step",
        "all done",
    ]
    assert "a command writing to the terminal" in lines
    assert p.stdout == "summary line\n"


def test_progress_on_a_terminal_draws_a_bar_with_an_eta_and_removes_it() -> None:
    code, out = run_in_pty(_script(), env=cli_env(), timeout_s=60)
    assert code == 0, out
    assert "\x1b[" in out  # drawn and redrawn in place
    assert re.search(r"demo .*\d+%.*ETA (\d+ s|—)", out), out
    assert re.search(r"ETA \d+ s", out), out  # an ETA from the expected seconds and elapsed
    # each phase line once (the bar repeats the current message, the log line does not)
    assert out.count("s] [1/2] first step") == 1 and out.count("s] [2/2] second step") == 1
    assert out.count("a command writing to the terminal") == 1
    assert "all done" in out
    assert "[/] [bold]not markup" in out  # shown as written, never read as rich markup
    # the bar is gone before the summary: what follows the last erase is the summary
    tail = out.rsplit("\x1b[2K", 1)[-1]
    assert "ETA" not in tail and "summary line" in tail


def test_without_rich_a_terminal_gets_plain_lines_and_is_told_once() -> None:
    prelude = "sys.modules['rich'] = None  # rich not installed"
    code, out = run_in_pty(_script(prelude), env=cli_env(), timeout_s=60)
    assert code == 0, out
    assert out.count("rich is not installed") == 1
    assert "ETA" not in out and "\x1b[" not in out
    assert out.count("s] [1/2] first step") == 1 and "all done" in out


def test_plain_text_removes_control_characters() -> None:
    assert plain_text("a\tb\nc\x1b[2Kd\x07") == "a b c[2Kd"


def test_a_closed_stderr_does_not_stop_the_work() -> None:
    """The reader of stderr went away (a closed pipe, a terminal hung up): the lines are
    dropped, the work goes on to its end."""
    script = (
        "import time\n"
        "from wattwise.progress import Progress\n"
        "with Progress('demo') as p:\n"
        "    for i in range(5):\n"
        "        time.sleep(0.1); p.phase(i / 5, (i + 1) / 5, f'[{i + 1}/5]', expected_s=0.1)\n"
        "    p.finish('all done')\n"
        "print('summary line')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(),
    )  # fmt: skip
    assert proc.stderr is not None
    proc.stderr.close()  # nobody reads stderr: every write to it fails (EPIPE)
    out, _ = proc.communicate(timeout=60)
    assert out == b"summary line\n"
    assert proc.returncode == 0

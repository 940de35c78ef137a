"""``wattwise.tracker.process.run_tracked`` from Python, as ``wattwise run`` and the audit use it:
a real child process, a real tracker (no readers: counts and outcomes are what is pinned)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from cli.clirun import cli_env
from wattwise.tracker.core import Tracker
from wattwise.tracker.process import EXIT_NOT_FOUND, run_tracked


def _tracker() -> Tracker:
    return Tracker("t", readers=[], sampler=False)


def test_run_tracked_follows_counts_and_passes_the_exit_code() -> None:
    t = _tracker()
    code = "from wattwise import report_count; report_count(steps=3, tokens=5); raise SystemExit(4)"
    out = run_tracked(t, [sys.executable, "-c", code], env=cli_env(), window="command")
    assert (out.exit_code, out.status, out.started) == (4, "failed", True)
    result = t.stop(exit_code=out.exit_code, status=out.status)
    assert result.counts == {"steps": 3.0, "tokens": 5.0}
    assert [w.name for w in result.windows] == ["command"]
    assert result.windows[0].counts == {"tokens": 5.0}


def test_run_tracked_counts_during_the_run_with_live_callback(tmp_path: Path) -> None:
    t = _tracker()
    calls: list[float] = []
    code = (
        "import time\nfrom wattwise import report_count\n"
        "for _ in range(4):\n    report_count(tokens=1)\n    time.sleep(0.3)\n"
    )
    out = run_tracked(
        t,
        [sys.executable, "-c", code],
        env=cli_env(),
        poll_s=0.1,
        on_poll=lambda: calls.append(t._counts.get("tokens", 0.0)),
    )
    assert out.exit_code == 0 and out.status == "finished"
    assert calls and max(calls) >= 1.0  # counts arrived while the command ran
    assert t.stop().counts == {"tokens": 4.0}


def test_run_tracked_outside_the_main_thread_runs_without_forwarding() -> None:
    t = _tracker()
    got: list[int] = []
    th = threading.Thread(target=lambda: got.append(run_tracked(t, ["true"]).exit_code))
    th.start()
    th.join(timeout=60)
    assert got == [0]
    assert any("not forwarded" in n for n in t.stop().notes)


def test_run_tracked_refuses_a_missing_command_before_starting() -> None:
    t = _tracker()
    out = run_tracked(t, ["./definitely-missing-xyz"])
    assert (out.exit_code, out.started, out.status) == (EXIT_NOT_FOUND, False, "failed")
    assert "command not found" in out.error
    assert t.status == "created"  # nothing was measured

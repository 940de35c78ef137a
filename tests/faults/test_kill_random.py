"""SIGKILL of the recorder at 20 random moments of a run: the ledger stays consistent, no run lost.

Two recorders take turns on ONE SQLite ledger, as a user's machine would have them:

* ``cli``: ``wattwise run --interval 0.05 -- python -c ...`` as a real subprocess (the tracker's
  default 2 s flush, so a 2.2 s command has a mid-run flush), its command on the same stdout;
* ``api``: a Python process with
  ``wattwise.api.tracker(store=DB, interval_s=0.01, flush_interval_s=0.05)`` and a 100 W fake
  energy counter on the real monotonic clock.

Each of the 20 moments is drawn from a seeded RNG (``WATTWISE_FAULT_SEED``, default 10, so a
failure is reproducible) in one of three phases: *start-up* (a delay after the process is
spawned: interpreter start, ledger open and migration, ``begin_run``), *mid-run* (a delay after
the run is known to be begun: sampling and incremental flushes), *final write* (a few ms after
the recorded code ended: ``finish_run``, extras, close). After each kill and at the end:
``PRAGMA integrity_check`` is ``ok``; every run known to be begun is listed (``Ledger.list_runs()``
on a read-only open after each kill, ``wattwise runs list --json`` at the end) with status
``finished`` or ``interrupted`` and a finite, non-negative energy (for the 100 W counter: exactly
the energy its committed samples cover); at the end ``wattwise runs list --json`` lists them and a
later ``wattwise run`` on the same ledger is stored ``finished``.

Wall time on the 2-vCPU development VM (shared with other work): 34-48 s (seeds 1, 2, 10).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.clirun import cli_env, wattwise
from faults.childcode import COUNTER_100W
from wattwise.ledger import Ledger

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

SEED = int(os.environ.get("WATTWISE_FAULT_SEED", "10"))
N_KILLS = 20
API_POWER_W = 100.0

CLI_CHILD = (
    "import os, time; print('begun', os.environ['WATTWISE_RUN_ID'], flush=True); "
    "time.sleep(2.2); print('done', flush=True)"
)

API_RECORDER = COUNTER_100W + """
db, run_id, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
t = Tracker("api-kill", readers=[Counter100W()], interval_s=0.01, flush_interval_s=0.05,
            store=db, run_id=run_id)
t.start()
print("begun", run_id, flush=True)
time.sleep(seconds)
print("done", flush=True)
t.stop()
print("stopped", flush=True)
"""


@dataclass(frozen=True)
class Moment:
    """Where to kill: which recorder, which phase, how long after the phase's marker (s)."""

    recorder: str  # cli | api
    phase: str  # startup | mid | final
    delay_s: float


def plan(rng: random.Random) -> list[Moment]:
    """20 moments: every (recorder, phase) pair at least 3 times, delays and order random."""
    moments = []
    for i in range(N_KILLS):
        recorder = ("cli", "api")[i % 2]
        phase = ("startup", "mid", "final")[i % 3]
        if phase == "startup":  # from spawn: the CLI needs ~0.6 s to begin, the API ~0.3 s
            delay = rng.uniform(0.0, 0.8 if recorder == "cli" else 0.4)
        elif phase == "mid":  # from 'begun': the CLI's first flush comes at 2.0 s
            delay = rng.uniform(0.0, 2.3 if recorder == "cli" else 0.6)
        else:  # from 'done': finish_run and close take a few tens of ms
            delay = rng.uniform(0.0, 0.12 if recorder == "cli" else 0.03)
        moments.append(Moment(recorder, phase, delay))
    rng.shuffle(moments)
    return moments


class Lines:
    """Lines of a process's stdout, read by a thread, waited for with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._q: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout

        def pump() -> None:
            for line in stream:
                self._q.put(line.strip())
            self._q.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, prefix: str, timeout_s: float = 30.0) -> str | None:
        """The first line starting with ``prefix``, or None if the stream ended first."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout_s} s") from None
            if line is None:
                return None
            if line.startswith(prefix):
                return line


def spawn(moment: Moment, db: str, run_id: str) -> subprocess.Popen[str]:
    env = cli_env(WATTWISE_POWERCAP_ROOT="/nonexistent-powercap")
    if moment.recorder == "cli":
        cmd = [sys.executable, "-m", "wattwise", "run", "--db", db, "--interval", "0.05",
               "--name", "cli-kill", "--quiet", "--", sys.executable, "-c", CLI_CHILD]  # fmt: skip
    else:
        cmd = [sys.executable, "-c", API_RECORDER, db, run_id, "0.6"]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the orphaned command is ours to end
    )


def kill_at(moment: Moment, db: str, run_id: str) -> tuple[str | None, int]:
    """Run one recorder and SIGKILL it at ``moment``; (id of the run if it began, exit code)."""
    proc = spawn(moment, db, run_id)
    lines = Lines(proc)
    begun: str | None = None
    try:
        if moment.phase == "startup":
            time.sleep(moment.delay_s)
        else:
            line = lines.wait_for("begun")
            assert line is not None, f"{moment}: recorder ended before its run began"
            begun = line.split()[1]
            if moment.phase == "mid":
                time.sleep(moment.delay_s)
            else:
                assert lines.wait_for("done") is not None, f"{moment}: no 'done'"
                time.sleep(moment.delay_s)
        proc.send_signal(signal.SIGKILL)  # the recorder only; not its command
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI's orphaned command, if any
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if begun is None:  # a start-up kill: did the run begin before it? (the 'begun' may be queued)
        with contextlib.suppress(AssertionError):
            line = lines.wait_for("begun", timeout_s=0.5)
            begun = line.split()[1] if line else None
    return begun, proc.returncode


def integrity(db: str) -> str:
    con = sqlite3.connect(db, timeout=30)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def check_ledger(db: str, begun: dict[str, str], context: str) -> None:
    """Integrity ok; every begun run listed, ended, with the energy its samples cover."""
    assert integrity(db) == "ok", context
    with Ledger.open(db, readonly=True) as led:  # what the file holds: no replay, no repair
        listed = {r.run_id: r for r in led.list_runs(limit=1000)}
        for r in listed.values():  # nobody records any more: nothing may look running or failed
            assert r.status in ("finished", "interrupted"), f"{context}: {r}"
            assert math.isfinite(r.total_energy_j) and r.total_energy_j >= 0, f"{context}: {r}"
        for run_id, recorder in begun.items():
            assert run_id in listed, f"{context}: run {run_id} ({recorder}) began but is missing"
            if recorder != "api":
                continue
            run = led.get_run(run_id)
            total_j = sum(c.energy_j for c in run.components)
            if run.status == "finished":
                expected_j = API_POWER_W * run.duration_s
            else:  # the 100 W counter: the span of the committed samples
                ts = [s.t_s for s in run.samples]
                expected_j = API_POWER_W * (max(ts) - min(ts)) if len(ts) >= 2 else 0.0
            assert total_j == pytest.approx(expected_j, rel=0.02, abs=0.5), f"{context}: {run}"


def test_sigkill_at_20_random_moments_keeps_ledger_consistent_and_every_run(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "kill.db")
    rng = random.Random(SEED)
    begun: dict[str, str] = {}
    killed: dict[str, int] = {}
    t0 = time.monotonic()
    for i, moment in enumerate(plan(rng)):
        context = f"seed {SEED}, kill {i}: {moment}"
        run_id, code = kill_at(moment, db, f"api{SEED:04d}kill{i:02d}")
        if moment.phase != "final":  # the recorder was alive at these moments: a real kill
            assert code == -signal.SIGKILL, f"{context}: exit {code}"
        if code == -signal.SIGKILL:
            killed[moment.phase] = killed.get(moment.phase, 0) + 1
        if run_id is not None:
            begun[run_id] = moment.recorder
        if Path(db).exists():
            check_ledger(db, begun, context)
    assert begun, "no run began before its kill"
    # At the end, as a user sees it: the CLI lists every run; a later run is stored.
    p = wattwise("runs", "list", "--json", "--limit", "1000", "--db", db)
    assert p.returncode == 0, p.stderr
    listed = {r["run_id"]: r for r in json.loads(p.stdout)}
    assert set(begun) <= set(listed)
    assert {r["status"] for r in listed.values()} <= {"finished", "interrupted"}
    later = wattwise("run", "--json", "--db", db, "--", sys.executable, "-c", "pass",
                     WATTWISE_POWERCAP_ROOT="/nonexistent-powercap")  # fmt: skip
    assert later.returncode == 0, later.stderr
    later_id = json.loads(later.stdout)["run_id"]
    check_ledger(db, {**begun, later_id: "cli"}, f"seed {SEED}: after the later run")
    with Ledger.open(db, readonly=True) as led:
        assert led.get_run(later_id).status == "finished"
    wall_s = time.monotonic() - t0
    print(f"seed {SEED}: {len(begun)} runs begun, kills by phase {killed}, {wall_s:.1f} s")
    assert wall_s < 120, f"the kill suite took {wall_s:.0f} s (target < 60 s; runaway guard 120 s)"

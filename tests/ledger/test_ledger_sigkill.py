"""A recorder killed with SIGKILL leaves its run in the ledger, with its samples."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattwise.ledger import Ledger

SRC = Path(__file__).resolve().parents[2] / "src"

RECORDER = """
import sys, time
from wattwise.ledger import Ledger
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import Sample

dev = DeviceInfo("rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "powercap")
led = Ledger.open(sys.argv[1])
led.begin_run("killme", "victim", "2025-03-01T10:00:00+00:00", ["sleep", "inf"], {}, [dev])
t0 = time.monotonic()
i = 0
while True:
    t = time.monotonic() - t0
    led.append_samples("killme", [Sample(dev.device_id, t, None, 25.0 * t)])
    i += 1
    if i == 3:
        print("ready", flush=True)
    time.sleep(0.1)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkilled_recorder_leaves_run_with_samples(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    proc = subprocess.Popen(
        [sys.executable, "-c", RECORDER, db],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.7)
        with Ledger.open(db) as live:  # read while it is being written (WAL)
            assert live.list_runs()[0].status == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Ledger.open(db) as led:
        [summary] = led.list_runs()
        run = led.get_run("kill")
    assert summary.status == run.status == "interrupted"
    assert len(run.samples) >= 8
    last_t = run.samples[-1].t_s
    assert last_t >= 0.8
    # 25 W counter: derived energy is 25 J/s over the span the samples cover.
    assert summary.total_energy_j == pytest.approx(25.0 * (last_t - run.samples[0].t_s))
    assert summary.provenance == "measured"

"""32 ``wattwise run`` at once on one SQLite ledger: every run is stored, finished, and says so.

Each is a real CLI process whose command sleeps 0.5 s; all 32 contend for the ledger's write lock
at start-up (migration check, ``begin_run``), while sampling and at the end (``finish_run``,
extras). Waits are bounded (the whole check fails, never hangs, past 240 s).

Wall time on the 2-vCPU development VM (shared with other work): 40-45 s.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cli.clirun import cli_env
from wattwise.ledger import Ledger

N_RUNS = 32
BUDGET_S = 240.0


def test_32_concurrent_runs_on_one_sqlite_ledger_are_all_stored_finished(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    env = cli_env(WATTWISE_POWERCAP_ROOT=str(tmp_path / "no-powercap"))
    code = "import time; time.sleep(0.5)"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wattwise", "run", "--json", "--db", db, "--interval", "0.1",
             "--name", f"par-{i:02d}", "--", sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for i in range(N_RUNS)
    ]  # fmt: skip
    deadline = time.monotonic() + BUDGET_S
    outcomes = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            outcomes.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    ids = {}
    errs = {}
    for i, (rc, out, err) in enumerate(outcomes):
        assert rc == 0, f"run {i}: exit {rc}: {err[-800:]}"
        doc = json.loads(out)
        ids[doc["run_id"]] = f"par-{i:02d}"
        errs[doc["run_id"]] = err
        assert doc["status"] == "finished", f"run {i}: {doc['status']}"
        assert "stored in the ledger" in err, f"run {i}: {err[-800:]}"
        assert "ledger write failed" not in err and "ledger not used" not in err, err[-800:]
    assert len(ids) == N_RUNS
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    with Ledger.open(db) as led:
        listed = {r.run_id: r for r in led.list_runs(limit=10 * N_RUNS)}
        assert set(listed) == set(ids)
        for run_id, name in ids.items():
            r = listed[run_id]
            assert (r.name, r.status, r.exit_code) == (name, "finished", 0)
            assert math.isfinite(r.total_energy_j) and r.total_energy_j >= 0
            assert r.duration_s >= 0.5
            # the run's last write landed too
            assert "footprint" in led.get_extra(run_id), errs[run_id][-3000:]

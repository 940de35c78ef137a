"""A recorder for the ledger's fault tests (a script, run as a separate process).

``python recorder.py DB DURATION_S [--budget S] [--at T CMD]...`` records a run of DURATION_S
seconds into ledger DB with a fake 50 W energy counter, sampled every 0.1 s and flushed every
0.2 s, and runs each shell command CMD at T seconds into the run (retried until it succeeds,
for a remount that is busy while a write is in flight). Prints one JSON object: the run's id,
duration, energy, and where the ledger says its writes went.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.fakes import CounterReader
from wattwise.ledger import Ledger
from wattwise.tracker.core import Tracker

POWER_W = 50.0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("duration_s", type=float)
    p.add_argument("--budget", type=float, default=20.0)
    p.add_argument("--at", nargs=2, action="append", default=[], metavar=("T", "CMD"))
    args = p.parse_args()
    led = Ledger.open(args.db, write_budget_s=args.budget)
    tracker = Tracker(
        "faulty",
        readers=[CounterReader(time.monotonic, POWER_W)],
        interval_s=0.1,
        flush_interval_s=0.2,
        sink=led,
    )
    tracker.start()
    t0 = time.monotonic()
    done = []
    for at, cmd in sorted(args.at, key=lambda e: float(e[0])):
        time.sleep(max(0.0, t0 + float(at) - time.monotonic()))
        for _ in range(100):
            if subprocess.run(cmd, shell=True).returncode == 0:
                break
            time.sleep(0.05)
        else:
            print(f"fault command failed: {cmd}", file=sys.stderr)
            return 3
        done.append([round(time.monotonic() - t0, 2), cmd])
    time.sleep(max(0.0, t0 + args.duration_s - time.monotonic()))
    result = tracker.stop()
    outcome = led.outcome(tracker.run_id)
    led.close()
    doc = {
        "run_id": tracker.run_id,
        "duration_s": result.duration_s,
        "energy_j": result.energy.total_j,
        "samples": len(result.samples),
        "state": outcome.state,
        "detail": outcome.detail,
        "spool": outcome.spool_path,
        "line": outcome.line(),
        "notes": list(result.notes),
        "events": done,
    }
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

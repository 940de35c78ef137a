"""Tracker CPU cost: CPU seconds the tracker spends per second of tracking.

An idle process (the main thread sleeps) runs a tracker with the readers of this machine for
``--seconds`` at each sampling interval; the process's CPU time (user + system, from
``resource.getrusage``) minus that of the same sleep without a tracker, divided by the wall time,
is the tracker's steady-state share of one core (start and stop are left out: their one-off
cost is in ``startup.py``).

    python benchmarks/overhead.py [--seconds 20] [--intervals 1.0 0.1]
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(interval_s: float | None, seconds: float) -> float:
    """CPU seconds per wall second of a process that sleeps while (maybe) tracking."""
    import wattwise

    tracker = None if interval_s is None else wattwise.Tracker("overhead", interval_s=interval_s)
    if tracker is not None:
        tracker.start()  # start-up (reader discovery) is measured by startup.py, not here
    c0, w0 = _cpu_s(), time.perf_counter()
    time.sleep(seconds)
    share = (_cpu_s() - c0) / (time.perf_counter() - w0)
    if tracker is not None:
        tracker.stop()
    return share


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.1])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import wattwise  # noqa: F401 - import cost is not part of the steady-state overhead

    measure(0.5, 1.0)  # warm up: lazy imports, reader discovery
    baseline = measure(None, args.seconds)
    res = {"baseline_core_fraction": baseline}
    for iv in args.intervals:
        res[f"tracker_core_percent_at_{iv:g}s"] = 100 * (measure(iv, args.seconds) - baseline)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:<34} {v:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Energy of a 50 ms region read from a (fake) RAPL counter: is it exact?

A powercap tree in a temporary directory holds a package counter that a writer thread advances
at a constant known power (the counter's value is a pure function of the time), so the exact
energy of any interval is known. A 50 ms window is tracked ``--repeat`` times and its energy is
compared with the exact value for the window's own boundaries. The residual error comes from
the time between the counter's update and the tracker's clock read, as with real hardware
counters (RAPL updates every ~1 ms).

    python benchmarks/short_region.py [--repeat 20] [--power-w 65]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--power-w", type=float, default=65.0)
    ap.add_argument("--region-s", type=float, default=0.05)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from wattwise.readers.rapl import RaplReader
    from wattwise.tracker.core import Tracker

    with tempfile.TemporaryDirectory() as d:
        zone = Path(d) / "intel-rapl:0"
        zone.mkdir()
        (zone / "name").write_text("package-0\n")
        (zone / "max_energy_range_uj").write_text("262143328850\n")
        counter = zone / "energy_uj"
        t_start = time.monotonic()

        def value_uj(t: float) -> int:
            return int((t - t_start) * args.power_w * 1e6) % 262143328850

        counter.write_text(f"{value_uj(t_start)}\n")
        stop = threading.Event()

        tmp = zone / ".energy_uj.tmp"

        def writer() -> None:  # like RAPL: the counter moves in ~1 ms steps
            while not stop.is_set():
                # sysfs reads are atomic; a rename gives the same guarantee here
                tmp.write_text(f"{value_uj(time.monotonic())}\n")
                tmp.replace(counter)
                time.sleep(0.001)

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        errors = []
        with Tracker("short", readers=[RaplReader(d)], sampler=False) as t:
            for _ in range(args.repeat):
                with t.window("50ms") as w:
                    time.sleep(args.region_s)
                assert w.result is not None
                exact_j = args.power_w * w.result.duration_s
                errors.append(abs(w.result.energy.total_j - exact_j) / exact_j)
        stop.set()
        th.join()
    res = {
        "region_s": args.region_s,
        "windows": args.repeat,
        "median_relative_error": statistics.median(errors),
        "max_relative_error": max(errors),
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:<24} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

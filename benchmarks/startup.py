"""Start-up cost: ``import wattwise`` and the time to the first energy reading.

Each measurement runs in a fresh interpreter (``python -X importtime`` is not used: it adds its
own overhead); the figure is the median of ``--repeat`` runs. With ``--codecarbon PYTHON`` the
same is measured for CodeCarbon's ``EmissionsTracker`` (``start()`` then ``flush()``), using the
interpreter of a virtual environment where codecarbon is installed, in the same session.

    python benchmarks/startup.py [--repeat 7] [--codecarbon /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

WATTWISE_IMPORT = """
import time; t0 = time.perf_counter()
import wattwise
print(time.perf_counter() - t0)
"""

WATTWISE_FIRST_READING = """
import time; t0 = time.perf_counter()
import wattwise
t = wattwise.Tracker("bench", sampler=False)
t.start()
e = t.energy_so_far_j()
dt = time.perf_counter() - t0
t.stop()
print(dt)
"""

CODECARBON_FIRST_READING = """
import time, logging; t0 = time.perf_counter()
from codecarbon import EmissionsTracker
tr = EmissionsTracker(save_to_file=False, log_level="error", measure_power_secs=1,
                      output_dir={outdir!r})
tr.start()
tr.flush()
dt = time.perf_counter() - t0
tr.stop()
print(dt)
"""


def _time(python: str, code: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        p = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(f"benchmark child failed: {p.stderr.strip()[-500:]}")
        out.append(float(p.stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--codecarbon", metavar="PYTHON", help="python of a venv with codecarbon")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res: dict[str, float] = {}
    res["wattwise_import_s"] = statistics.median(
        _time(sys.executable, WATTWISE_IMPORT, args.repeat)
    )
    res["wattwise_first_reading_s"] = statistics.median(
        _time(sys.executable, WATTWISE_FIRST_READING, args.repeat)
    )
    if args.codecarbon:
        with tempfile.TemporaryDirectory() as d:
            code = CODECARBON_FIRST_READING.format(outdir=d)
            res["codecarbon_first_reading_s"] = statistics.median(
                _time(args.codecarbon, code, max(3, args.repeat // 2))
            )
        res["speedup_x"] = res["codecarbon_first_reading_s"] / res["wattwise_first_reading_s"]
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:<30} {v:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

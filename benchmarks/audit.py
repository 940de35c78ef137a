"""Time the full default audit twice: the first run trains the built-in model (empty cache),
the second reuses it. Writes the reports and a 1280-px screenshot of the second one.

    PYTHONPATH=src python benchmarks/audit.py [--screenshot docs/report.png]

Each audit runs as a user runs it (``python -m wattwise audit``) with its own cache and ledger
in a temporary directory; the load average before and after is printed because other processes
on a shared machine slow a 2-core run down.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--screenshot", type=Path, help="write a 1280-px PNG of the report here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wattwise-bench-audit-") as d:
        env = dict(os.environ, XDG_CACHE_HOME=f"{d}/cache", WATTWISE_DB=f"{d}/ledger.db")
        for label in ("first (trains the built-in model)", "cached"):
            out = Path(d) / f"{label.split()[0]}.html"
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-m", "wattwise", "audit", "--out", str(out)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            print(f"{label}: {wall:.0f} s (exit {p.returncode}, load avg {load:.1f} -> "
                  f"{os.getloadavg()[0]:.1f})")  # fmt: skip
            if p.returncode != 0:
                print(p.stderr[-2000:])
                return 1
        if args.screenshot:
            from wattwise.report.browser import screenshot

            screenshot(out, args.screenshot, width=1280, height=1800)
            print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the default audit with an empty cache and with a warm one, each as a ratio to a fixed
reference loop timed in the same run (machines here are shared and noisy), and in seconds.

    PYTHONPATH=src python benchmarks/audit.py [--repeat 3] [--screenshot docs/report.png]

Per repeat: the reference loop (``python -c "sum(i*i for i in range(30_000_000))"``), an audit
with every cache empty (its own ``XDG_CACHE_HOME``, ``TORCHINDUCTOR_CACHE_DIR`` and ledger in a
new temporary directory: a first run on a clean machine), the same audit again (warm caches),
the reference loop again. The ratio divides an audit's wall time by the mean of the two loops.
Each audit runs as a user runs it (``python -m wattwise audit --json``); the lab's recommended
variant and its batch-1 gain (baseline J/token over the variant's) are printed too, and the
other variants' batch-1 gains.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = [sys.executable, "-c", "sum(i*i for i in range(30_000_000))"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, p.stdout if p.returncode == 0 else p.stderr, p.returncode


def gain(doc: dict[str, object]) -> str:
    lab = doc.get("lab") or {}
    assert isinstance(lab, dict)
    by = {v["name"]: v for v in lab.get("variants", [])}
    rec, base = lab.get("recommended"), by.get(lab.get("baseline", ""), {})
    if not rec or rec not in by or not base:
        return "no recommendation"
    v = by[rec]
    others = ", ".join(
        f"{name} {base['j_per_token'] / o['j_per_token']:.2f}x"
        for name, o in by.items()
        if o is not base and name != rec
    )
    return (
        f"recommends {rec}: {base['j_per_token'] / v['j_per_token']:.2f}x less J/token at "
        f"batch 1, {base['j_per_token_batch'] / v['j_per_token_batch']:.2f}x at batch "
        f"{v['batch']}" + (f" (batch 1: {others})" if others else "")
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--screenshot", type=Path, help="write a 1280-px PNG of the report here")
    ap.add_argument("audit_args", nargs="*", help="extra arguments for wattwise audit")
    args = ap.parse_args()
    ratios: dict[str, list[float]] = {"empty": [], "warm": []}
    for rep in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="wattwise-bench-audit-") as d:
            env = dict(
                os.environ,
                XDG_CACHE_HOME=f"{d}/cache",
                TORCHINDUCTOR_CACHE_DIR=f"{d}/inductor",
                WATTWISE_DB=f"{d}/ledger.db",
            )
            ref0, _, _ = timed(REFERENCE)
            walls = {}
            for label in ("empty", "warm"):
                out = Path(d) / f"{label}.html"
                cmd = [sys.executable, "-m", "wattwise", "audit", "--json", "--out", str(out)]
                load = os.getloadavg()[0]
                walls[label], text, code = timed([*cmd, *args.audit_args], env)
                if code != 0:
                    print(text[-3000:])
                    return 1
                walls[label + "_load"] = load
                walls[label + "_gain"] = gain(json.loads(text))  # type: ignore[assignment]
            ref1, _, _ = timed(REFERENCE)
            ref = (ref0 + ref1) / 2
            print(f"repeat {rep + 1}: reference loop {ref0:.1f} s / {ref1:.1f} s")
            for label in ("empty", "warm"):
                ratio = walls[label] / ref
                ratios[label].append(ratio)
                print(
                    f"  {label} cache: {walls[label]:.1f} s = {ratio:.1f}x the reference loop "
                    f"(load avg {walls[label + '_load']:.1f}); {walls[label + '_gain']}"
                )
            if args.screenshot and rep == args.repeat - 1:
                from wattwise.report.browser import screenshot

                screenshot(Path(d) / "warm.html", args.screenshot, width=1280, height=1800)
                print(f"screenshot: {args.screenshot}")
    for label, r in ratios.items():
        print(f"{label} cache: median {statistics.median(r):.1f}x the reference loop over {len(r)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

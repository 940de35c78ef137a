"""Start-up cost in fresh processes: wattwise's ``with track():`` beside CodeCarbon's tracker.

In one run, alternating so both sides see the same machine load, ``--n`` fresh interpreters each
of:

(a) ``import wattwise`` then ``with wattwise.track(): pass``, timed in three phases: ``import``,
    ``enter`` (reader discovery, opening the readers, the first reading of every device, the
    sampler thread started) and ``exit`` (the last reading, the result built, readers closed);
(b) CodeCarbon's ``OfflineEmissionsTracker(country_iso_code=..., save_to_file=False,
    log_level="error")`` (offline: no network call), timed as ``import``, ``start`` (the
    constructor and ``start()``) and ``stop``.

Each child times itself with ``time.perf_counter()`` and prints one JSON line; the parent also
records the whole process (interpreter start-up included). Figures are the median and the 90th
percentile over the ``--n`` processes; the ratios divide CodeCarbon's medians by wattwise's.

Each side runs under its own interpreter (default: this one), so CodeCarbon can live in a
separate virtual environment; a side whose package is not importable there is skipped with a
message. The wattwise child reports which ``wattwise`` it imported and the devices it read, so a
before/after comparison can check that the same devices were measured.

    python benchmarks/startup.py [--n 10] [--wattwise-python PY] [--codecarbon-python PY]
                                 [--no-codecarbon] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

MARK = "@@startup@@ "

WATTWISE_CHILD = """
import json, time
t0 = time.perf_counter()
import wattwise
t1 = time.perf_counter()
with wattwise.track("startup-bench") as t:
    t2 = time.perf_counter()
t3 = time.perf_counter()
r = t.result
print(MARK + json.dumps({
    "import_s": t1 - t0, "enter_s": t2 - t1, "exit_s": t3 - t2,
    "module": wattwise.__file__,
    "devices": sorted(f"{c.device_id}={c.provenance}" for c in r.components),
}))
""".replace("MARK", repr(MARK))

CODECARBON_CHILD = """
import json, time
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tr = OfflineEmissionsTracker(country_iso_code=COUNTRY, save_to_file=False, log_level="error",
                             output_dir=OUTDIR)
tr.start()
t2 = time.perf_counter()
tr.stop()
t3 = time.perf_counter()
import codecarbon
print(MARK + json.dumps({
    "import_s": t1 - t0, "enter_s": t2 - t1, "exit_s": t3 - t2,
    "module": codecarbon.__file__, "version": codecarbon.__version__,
}))
"""

PHASES = ("import_s", "enter_s", "exit_s", "total_s", "process_s")


def _run_child(python: str, code: str, cwd: str) -> dict[str, Any]:
    """Run ``code`` in a fresh ``python``; its JSON line plus the whole process's wall time."""
    t0 = time.perf_counter()
    p = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    wall_s = time.perf_counter() - t0
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith(MARK)), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"benchmark child ({python}) failed: {p.stderr.strip()[-800:]}")
    res: dict[str, Any] = json.loads(line[len(MARK) :])
    res["total_s"] = res["import_s"] + res["enter_s"] + res["exit_s"]
    res["process_s"] = wall_s
    return res


def _importable(python: str, module: str) -> str | None:
    """None when ``module`` imports under ``python``, else why not (one line)."""
    try:
        p = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
        )
    except OSError as exc:
        return f"{python}: {exc}"
    if p.returncode == 0:
        return None
    tail = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
    return f"{module} is not importable with {python}: {tail}"


def _p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    return {
        ph: {
            "median": statistics.median(r[ph] for r in runs),
            "p90": _p90([r[ph] for r in runs]),
        }
        for ph in PHASES
    }


def _print_table(sides: dict[str, dict[str, dict[str, float]]]) -> None:
    head = f"{'phase (ms)':<12}" + "".join(f"{name + ' median':>22}{'p90':>8}" for name in sides)
    print(head)
    for ph in PHASES:
        row = f"{ph.removesuffix('_s'):<12}"
        for stats in sides.values():
            row += f"{1e3 * stats[ph]['median']:>22.1f}{1e3 * stats[ph]['p90']:>8.1f}"
        print(row)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10, help="fresh processes per side (default 10)")
    ap.add_argument("--wattwise-python", default=sys.executable, metavar="PY")
    ap.add_argument("--codecarbon-python", default=sys.executable, metavar="PY")
    ap.add_argument("--no-codecarbon", action="store_true", help="measure wattwise only")
    ap.add_argument("--country", default="DEU", help="CodeCarbon's country_iso_code (offline)")
    ap.add_argument("--json", metavar="FILE", help="also write every run and the summary here")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")

    why = _importable(args.wattwise_python, "wattwise")
    if why is not None:
        raise SystemExit(why)
    cc_skip = "--no-codecarbon" if args.no_codecarbon else None
    if cc_skip is None:
        cc_skip = _importable(args.codecarbon_python, "codecarbon")
        if cc_skip is not None:
            print(f"CodeCarbon skipped: {cc_skip}", file=sys.stderr)

    runs: dict[str, list[dict[str, Any]]] = {"wattwise": []}
    if cc_skip is None:
        runs["codecarbon"] = []
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as cwd:
        cc_code = CODECARBON_CHILD.replace("COUNTRY", repr(args.country))
        cc_code = cc_code.replace("OUTDIR", repr(cwd)).replace("MARK", repr(MARK))
        # Warm the bytecode caches once per side, then alternate the sides.
        _run_child(args.wattwise_python, WATTWISE_CHILD, cwd)
        if cc_skip is None:
            _run_child(args.codecarbon_python, cc_code, cwd)
        for _ in range(args.n):
            runs["wattwise"].append(_run_child(args.wattwise_python, WATTWISE_CHILD, cwd))
            if cc_skip is None:
                runs["codecarbon"].append(_run_child(args.codecarbon_python, cc_code, cwd))

    sides = {name: _summary(rs) for name, rs in runs.items()}
    ww = runs["wattwise"][-1]
    print(f"wattwise: {ww['module']} ({args.wattwise_python}); devices: {', '.join(ww['devices'])}")
    if cc_skip is None:
        cc = runs["codecarbon"][-1]
        print(f"codecarbon {cc['version']}: {cc['module']} ({args.codecarbon_python})")
    print(f"{args.n} fresh processes per side; codecarbon's 'enter' is its constructor + start()")
    _print_table(sides)
    ratios: dict[str, float] = {}
    if cc_skip is None:
        w, c = sides["wattwise"], sides["codecarbon"]
        ratios = {
            "total": c["total_s"]["median"] / w["total_s"]["median"],
            "enter": c["enter_s"]["median"] / w["enter_s"]["median"],
            "process": c["process_s"]["median"] / w["process_s"]["median"],
        }
        print(
            f"wattwise is {ratios['total']:.1f}x faster (import + start + stop, medians), "
            f"{ratios['enter']:.1f}x on the start alone, {ratios['process']:.1f}x per process"
        )
    if args.json:
        doc = {"n": args.n, "summary": sides, "ratios": ratios, "runs": runs, "skipped": cc_skip}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

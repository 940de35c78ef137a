"""Start-up cost in fresh processes: wattwise's ``with track():`` beside CodeCarbon's tracker.

In one run, alternating so both sides see the same machine load, ``--n`` fresh interpreters each
of:

(a) ``import wattwise`` then ``with wattwise.track(): pass``, timed in three phases: ``import``,
    ``enter`` (reader discovery, opening the readers, the first reading of every device, the
    sampler thread started) and ``exit`` (the last reading, the result built, readers closed);
(b) CodeCarbon's ``OfflineEmissionsTracker(country_iso_code=..., save_to_file=False,
    log_level="error")`` (offline: no network call), timed as ``import``, ``start`` (the
    constructor and ``start()``) and ``stop``.

Each child times itself with ``time.perf_counter()`` (and its CPU time, all threads, with
``time.process_time()``: ``cpu``, less sensitive than wall time to other work on a shared
machine) and prints one JSON line; the parent also records the whole process (interpreter
start-up included). Figures are the median and the 90th percentile over the ``--n`` processes;
the ratios divide CodeCarbon's medians by wattwise's. Children run with bytecode caches
(``PYTHONDONTWRITEBYTECODE`` is dropped; one warm-up run per side writes them), as an installed
package has them.

Each side runs under its own interpreter (default: this one), so CodeCarbon can live in a
separate virtual environment; when codecarbon is not importable there it is skipped with a
message. ``--src LABEL=DIR`` (repeatable) measures the wattwise in ``DIR`` (first on
``PYTHONPATH``) as its own side, so source trees (before / after a change) are compared in the
same run. The wattwise child reports which ``wattwise`` it imported and the devices it read,
so such a comparison shows that the same devices were measured. See benchmarks/startup.md.

    python benchmarks/startup.py [--n 10] [--wattwise-python PY] [--codecarbon-python PY]
                                 [--src LABEL=DIR ...] [--no-codecarbon] [--json FILE]
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MARK = "@@startup@@ "

WATTWISE_CHILD = """
import json, time
c0, t0 = time.process_time(), time.perf_counter()
import wattwise
t1 = time.perf_counter()
with wattwise.track("startup-bench") as t:
    t2 = time.perf_counter()
t3 = time.perf_counter()
c3 = time.process_time()
r = t.result
print(MARK + json.dumps({
    "import_s": t1 - t0, "enter_s": t2 - t1, "exit_s": t3 - t2, "cpu_s": c3 - c0,
    "module": wattwise.__file__,
    "devices": sorted(f"{c.device_id}={c.provenance}" for c in r.components),
}))
""".replace("MARK", repr(MARK))

CODECARBON_CHILD = """
import json, time
c0, t0 = time.process_time(), time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tr = OfflineEmissionsTracker(country_iso_code=COUNTRY, save_to_file=False, log_level="error",
                             output_dir=OUTDIR)
tr.start()
t2 = time.perf_counter()
tr.stop()
t3 = time.perf_counter()
c3 = time.process_time()
import codecarbon
print(MARK + json.dumps({
    "import_s": t1 - t0, "enter_s": t2 - t1, "exit_s": t3 - t2, "cpu_s": c3 - c0,
    "module": codecarbon.__file__, "version": codecarbon.__version__,
}))
"""

PHASES = ("import_s", "enter_s", "exit_s", "total_s", "cpu_s", "process_s")
RATIOS = ("total", "enter", "cpu", "process")


@dataclass(frozen=True)
class Side:
    """One thing measured: a label, the interpreter, the child's code, extra environment."""

    label: str
    python: str
    code: str
    env: dict[str, str] = field(default_factory=dict)


def _run_child(side: Side, cwd: str) -> dict[str, Any]:
    """Run a side's code in a fresh interpreter; its JSON line plus the process's wall time."""
    # Bytecode caches as an installed package has them: the warm-up run writes them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(side.env)
    t0 = time.perf_counter()
    p = subprocess.run(
        [side.python, "-c", side.code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )
    wall_s = time.perf_counter() - t0
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith(MARK)), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"benchmark child {side.label} failed: {p.stderr.strip()[-800:]}")
    res: dict[str, Any] = json.loads(line[len(MARK) :])
    res["total_s"] = res["import_s"] + res["enter_s"] + res["exit_s"]
    res["process_s"] = wall_s
    return res


def _importable(python: str, module: str, env: dict[str, str] | None = None) -> str | None:
    """None when ``module`` imports under ``python``, else why not (one line)."""
    try:
        p = subprocess.run(
            [python, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **(env or {})},
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
    widths = {name: max(12, len(name) + 2) for name in sides}
    print(f"{'':<12}" + "".join(f"{name:>{widths[name]}}{'':>8}" for name in sides))
    print(f"{'phase (ms)':<12}" + "".join(f"{'median':>{widths[n]}}{'p90':>8}" for n in sides))
    for ph in PHASES:
        row = f"{ph.removesuffix('_s'):<12}"
        for name, stats in sides.items():
            row += f"{1e3 * stats[ph]['median']:>{widths[name]}.1f}{1e3 * stats[ph]['p90']:>8.1f}"
        print(row)


def _sides(args: argparse.Namespace, cwd: str) -> list[Side]:
    wattwise: list[Side] = []
    for spec in args.src or []:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--src wants LABEL=DIR, got {spec!r}")
        env = {"PYTHONPATH": os.path.abspath(path)}
        wattwise.append(Side(label, args.wattwise_python, WATTWISE_CHILD, env))
    if not wattwise:
        wattwise.append(Side("wattwise", args.wattwise_python, WATTWISE_CHILD))
    for side in wattwise:
        why = _importable(side.python, "wattwise", side.env)
        if why is not None:
            raise SystemExit(why)
    if args.no_codecarbon:
        return wattwise
    why = _importable(args.codecarbon_python, "codecarbon")
    if why is not None:
        print(f"CodeCarbon skipped: {why}", file=sys.stderr)
        return wattwise
    code = CODECARBON_CHILD.replace("COUNTRY", repr(args.country))
    code = code.replace("OUTDIR", repr(cwd)).replace("MARK", repr(MARK))
    return [*wattwise, Side("codecarbon", args.codecarbon_python, code)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10, help="fresh processes per side (default 10)")
    ap.add_argument("--wattwise-python", default=sys.executable, metavar="PY")
    ap.add_argument("--codecarbon-python", default=sys.executable, metavar="PY")
    ap.add_argument(
        "--src",
        action="append",
        metavar="LABEL=DIR",
        help="measure the wattwise in DIR (put first on PYTHONPATH) as side LABEL; repeat to "
        "compare trees in one run (e.g. before=/tmp/old/src after=src)",
    )
    ap.add_argument("--no-codecarbon", action="store_true", help="measure wattwise only")
    ap.add_argument("--country", default="DEU", help="CodeCarbon's country_iso_code (offline)")
    ap.add_argument("--json", metavar="FILE", help="also write every run and the summary here")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as cwd:
        sides = _sides(args, cwd)
        runs: dict[str, list[dict[str, Any]]] = {side.label: [] for side in sides}
        for side in sides:  # warm-up: writes the bytecode caches
            _run_child(side, cwd)
        for _ in range(args.n):  # alternate, so every side sees the same machine load
            for side in sides:
                runs[side.label].append(_run_child(side, cwd))

    stats = {label: _summary(rs) for label, rs in runs.items()}
    for side in sides:
        last = runs[side.label][-1]
        what = f"{side.label}: {last['module']} ({side.python})"
        if "devices" in last:
            what += "; devices: " + ", ".join(last["devices"])
        if "version" in last:
            what += f"; version {last['version']}"
        print(what)
    print(f"{args.n} fresh processes per side; codecarbon's 'enter' is its constructor + start()")
    _print_table(stats)
    ratios: dict[str, dict[str, float]] = {}
    if "codecarbon" in stats:
        c = stats["codecarbon"]
        for label, w in stats.items():
            if label == "codecarbon":
                continue
            r = {k: c[f"{k}_s"]["median"] / w[f"{k}_s"]["median"] for k in RATIOS}
            ratios[label] = r
            print(
                f"{label} is {r['total']:.1f}x faster than codecarbon (import + start + stop, "
                f"medians), {r['enter']:.1f}x on the start alone, {r['cpu']:.1f}x in CPU time, "
                f"{r['process']:.1f}x per process"
            )
    if args.json:
        doc = {"n": args.n, "summary": stats, "ratios": ratios, "runs": runs}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

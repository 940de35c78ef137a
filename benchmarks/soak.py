"""Soak: a month-long run at 1 Hz with 8 GPUs on a fake clock, and 32 concurrent ``wattwise run``.

**Long run.** A recorder process drives
``wattwise.api.tracker(sampler=False, clock=FakeClock, store=DB)`` by
hand: one ``t.sample()`` per simulated second for ``--days`` days, reading a fake reader of 8 GPU
energy counters (``measured``, 300-400 W each, the NVML total-energy shape), into a real SQLite
ledger with the tracker's default flush interval (every 2 simulated seconds). Two recordings:

* ``finished``: the recorder calls ``t.stop()`` (the final ``finish_run`` write) and exits;
* ``interrupted``: the recorder is SIGKILLed after its last sample, before ``finish_run``.

For each, the recorder reports its peak RSS (``resource.getrusage``, ``ru_maxrss``) and wall time;
this process then times ``wattwise runs list`` (a fresh CLI process, default ``--limit 20``) and
``Ledger.list_runs()`` (in-process, fresh open) on the resulting ledger, and checks that the run is
listed with the expected status and an energy within 1 % of the simulated one.

**Concurrency.** ``--concurrent N`` starts N ``wattwise run -- python -c "sleep"`` at once on one
SQLite ledger and checks that all N are stored ``finished``.

Goals (issue 10): peak RSS < 150 MB for the 30-day run, ``runs list`` < 0.5 s, 32/32 stored.

    python benchmarks/soak.py --days 30                 # both recordings, 30 days each
    python benchmarks/soak.py --days 1 --modes finished
    python benchmarks/soak.py --concurrent 32 --days 0  # only the concurrency check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("WATTWISE_SOAK_SRC") or ROOT / "src")  # the wattwise tree measured
N_GPUS = 8
DAY_S = 86_400


# -------------------------------------------------------------------------------- the recorder
class FakeClock:
    """A monotonic clock moved by hand (seconds)."""

    def __init__(self, t_s: float = 1000.0) -> None:
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s


class EightGpuCounters:
    """A fake reader of the Reader protocol's shape: 8 GPU energy counters on a fake clock.

    GPU ``i`` draws ``300 + 100 * ((t + 37 i) % 600) / 600`` W (a sawtooth between 300 and
    400 W, phase-shifted per GPU); its counter is the exact integral, so the true energy of a run
    is known in closed form (:func:`true_energy_j`).
    """

    name = "soak-gpus"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.t0_s = clock()

    def open(self) -> list[Any]:
        from wattwise.readers.base import DeviceInfo, Provenance

        return [
            DeviceInfo(
                f"fake-nvml:GPU-{i}", "gpu", f"Fake GPU {i}", Provenance.MEASURED, "fake:nvml"
            )
            for i in range(N_GPUS)
        ]

    def read(self) -> list[Any]:
        from wattwise.readers.base import Reading

        t = self.clock()
        el = t - self.t0_s
        return [
            Reading(f"fake-nvml:GPU-{i}", t, energy_j=gpu_energy_j(i, el)) for i in range(N_GPUS)
        ]

    def probe(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


def gpu_energy_j(i: int, elapsed_s: float) -> float:
    """Exact integral (J) of GPU ``i``'s sawtooth power over [0, elapsed_s]."""
    period = 600.0

    def ramp(x: float) -> float:  # integral of (x mod P) / P over [0, x]
        k, r = divmod(x, period)
        return k * period / 2 + r * r / (2 * period)

    phase = 37.0 * i
    return 300.0 * elapsed_s + 100.0 * (ramp(elapsed_s + phase) - ramp(phase))


def true_energy_j(seconds: int) -> float:
    return sum(gpu_energy_j(i, float(seconds)) for i in range(N_GPUS))


def record(db: str, seconds: int, mode: str, flush_interval_s: float | None) -> None:
    """The recorder process: simulate ``seconds`` of 1 Hz sampling, then stop or wait to die."""
    from wattwise.api import tracker as Tracker

    rss0_mb = _peak_rss_mb()
    clock = FakeClock()
    t = Tracker(
        f"soak-{mode}",
        readers=[EightGpuCounters(clock)],
        sampler=False,
        clock=clock,
        store=db,
        **({} if flush_interval_s is None else {"flush_interval_s": flush_interval_s}),
    )
    w0 = time.perf_counter()
    t.start()
    progress_every = max(1, seconds // 10)
    for s in range(1, seconds + 1):
        clock.t_s += 1.0
        t.sample()
        if s % progress_every == 0:
            sys.stderr.write(
                f"  [{mode}] {s / DAY_S:6.2f} days, {time.perf_counter() - w0:7.1f} s wall, "
                f"peak RSS {_peak_rss_mb():7.1f} MB\n"
            )
    sampled_s = time.perf_counter() - w0
    report: dict[str, Any] = {
        "run_id": t.run_id,
        "baseline_rss_mb": rss0_mb,
        "sampling_wall_s": sampled_s,
        "peak_rss_mb_before_stop": _peak_rss_mb(),
        "notes": list(t.notes),
    }
    if mode == "finished":
        w1 = time.perf_counter()
        t.stop()
        report["stop_wall_s"] = time.perf_counter() - w1
        report["notes"] = list(t.notes)
        report["outcome"] = _outcome(db, t.run_id)
    report["peak_rss_mb"] = _peak_rss_mb()
    report["wall_s"] = time.perf_counter() - w0
    print(json.dumps(report), flush=True)
    if mode == "interrupted":
        time.sleep(3600)  # the parent SIGKILLs us here, before finish_run


def _outcome(db: str, run_id: str) -> str | None:
    """``Ledger.outcome(run_id)`` where the ledger has it (issue 10), else None."""
    try:
        from wattwise.ledger import Ledger

        with Ledger.open(db) as led:
            fn = getattr(led, "outcome", None)
            return None if fn is None else str(fn(run_id))
    except Exception as exc:
        return f"error: {exc}"


def _peak_rss_mb() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


# -------------------------------------------------------------------------------- the parent
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def soak(db: str, seconds: int, mode: str, flush_interval_s: float | None) -> dict[str, Any]:
    """Record one run in a child process; then time ``runs list`` on the ledger."""
    flush = [] if flush_interval_s is None else ["--flush-interval", str(flush_interval_s)]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--record", mode, "--db", db, "--seconds", str(seconds),
         *flush],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if mode == "interrupted":
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not line:
        raise SystemExit(f"recorder ({mode}) died without a report (exit {proc.returncode})")
    rep: dict[str, Any] = json.loads(line)
    rep["mode"] = mode
    rep["days"] = seconds / DAY_S
    rep["flush_interval_s"] = flush_interval_s
    rep["recorder_exit"] = proc.returncode
    rep["true_energy_j"] = true_energy_j(seconds)
    rep["ledger_mb"] = sum(
        Path(p).stat().st_size / 1e6 for p in (db, db + "-wal") if Path(p).exists()
    )
    rep.update(time_list(db, rep["run_id"]))
    return rep


def time_list(db: str, run_id: str) -> dict[str, Any]:
    """Wall time of ``wattwise runs list`` (CLI process) and ``Ledger.list_runs()``."""
    from wattwise.ledger import Ledger

    w0 = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "wattwise", "runs", "list", "--db", db],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    cli_s = time.perf_counter() - w0
    w0 = time.perf_counter()
    led = Ledger.open(db)
    open_s = time.perf_counter() - w0
    w0 = time.perf_counter()
    runs = led.list_runs()
    api_s = time.perf_counter() - w0
    led.close()
    mine = next((r for r in runs if r.run_id == run_id), None)
    return {
        "runs_list_cli_s": cli_s,
        "runs_list_cli_exit": cli.returncode,
        "ledger_open_s": open_s,
        "list_runs_api_s": api_s,
        "listed_status": None if mine is None else mine.status,
        "listed_energy_j": None if mine is None else mine.total_energy_j,
        "listed_duration_s": None if mine is None else mine.duration_s,
    }


def flush_cost(db: str, seconds: int = 600, flush_interval_s: float = 2.0) -> dict[str, Any]:
    """Wall ms per ledger flush at the tracker's default interval: (stored - unstored) / flushes.

    ``seconds`` simulated seconds of the same 8-GPU run, once with ``store=db`` and once without
    a ledger; at 1 Hz a flush every 2 s carries 16 samples (append_samples + heartbeat).
    """
    from wattwise.api import tracker as Tracker

    walls = []
    for store in (db, False):
        clock = FakeClock()
        t = Tracker("flush-cost", readers=[EightGpuCounters(clock)], sampler=False, clock=clock,
                    store=store, flush_interval_s=flush_interval_s)  # fmt: skip
        t.start()
        w0 = time.perf_counter()
        for _ in range(seconds):
            clock.t_s += 1.0
            t.sample()
        walls.append(time.perf_counter() - w0)
        t.stop()
    flushes = seconds / flush_interval_s
    return {
        "flush_ms": 1000 * (walls[0] - walls[1]) / flushes,
        "sample_ms_without_ledger": 1000 * walls[1] / seconds,
        "flush_core_percent_at_1hz": 100 * (walls[0] - walls[1]) / seconds,
    }


def cli_floor(db: str) -> dict[str, Any]:
    """``wattwise runs list`` on an empty ledger: the CLI's start-up floor (median of 3)."""
    times = []
    for _ in range(3):
        w0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "wattwise", "runs", "list", "--db", db],
            capture_output=True,
            env=_env(),
            timeout=120,
        )
        times.append(time.perf_counter() - w0)
    return {"runs_list_cli_empty_ledger_s": sorted(times)[1], "src": str(SRC)}


def concurrent(db: str, n: int) -> dict[str, Any]:
    """N ``wattwise run`` at once on one SQLite ledger; how many end up stored ``finished``."""
    from wattwise.ledger import Ledger

    code = "import time; time.sleep(1.0)"
    w0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wattwise", "run", "--db", db, "--interval", "0.2",
             "--name", f"c{i:02d}", "--quiet", "--", sys.executable, "-c", code],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for i in range(n)
    ]  # fmt: skip
    errors = []
    codes = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        codes.append(p.returncode)
        if p.returncode != 0 or err.strip():
            errors.append(err.strip()[-300:])
    wall_s = time.perf_counter() - w0
    with Ledger.open(db) as led:
        runs = led.list_runs(limit=10 * n)
    finished = sum(1 for r in runs if r.status == "finished")
    return {
        "concurrent_runs": n,
        "wall_s": wall_s,
        "exit_codes_nonzero": sum(1 for c in codes if c != 0),
        "stored": len(runs),
        "stored_finished": finished,
        "errors": errors[:5],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--days", type=float, default=30.0, help="simulated days (default 30)")
    ap.add_argument("--modes", default="finished,interrupted", help="finished,interrupted")
    ap.add_argument(
        "--flush-interval",
        type=float,
        metavar="S",
        help="simulated seconds between ledger writes (default: the tracker's, 2 s)",
    )
    ap.add_argument("--concurrent", type=int, default=0, metavar="N", help="also N parallel runs")
    ap.add_argument("--dir", help="where the ledgers go (default: a temporary directory)")
    ap.add_argument("--src", help="the wattwise source tree to measure (default: this checkout's)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--record", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.src:
        global SRC
        SRC = Path(args.src).resolve()
        os.environ["WATTWISE_SOAK_SRC"] = str(SRC)
    sys.path.insert(0, str(SRC))
    if args.record:
        record(args.db, args.seconds, args.record, args.flush_interval)
        return 0
    seconds = round(args.days * DAY_S)
    with tempfile.TemporaryDirectory(prefix="wattwise-soak-", dir=args.dir) as d:
        results: list[dict[str, Any]] = [
            {**cli_floor(str(Path(d) / "empty.db")), **flush_cost(str(Path(d) / "flush.db"))}
        ]
        _show(results[-1], args.json)
        for mode in [m for m in args.modes.split(",") if m] if seconds > 0 else []:
            db = str(Path(d) / f"soak-{mode}.db")
            results.append(soak(db, seconds, mode, args.flush_interval))
            _show(results[-1], args.json)
        if args.concurrent:
            results.append(concurrent(str(Path(d) / "concurrent.db"), args.concurrent))
            _show(results[-1], args.json)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _show(rep: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return
    for k, v in rep.items():
        print(f"{k:<26} {v:.4g}" if isinstance(v, float) else f"{k:<26} {v}")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())

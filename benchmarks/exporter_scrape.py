"""Scrape latency of the Prometheus exporter with 8 (fake) GPUs: goal < 20 ms (issue 12).

The GPUs are the tests' fake ``pynvml`` module (tests/readers/fake_nvml.py) read through the
real :class:`~wattwise.readers.nvml.NvmlReader`, so readings take wattwise's real path; the
tracker samples every second in its own thread while the scrapes run, as in a training process.
A scrape is a full HTTP GET of ``/metrics`` over loopback with a new connection (the way
Prometheus opens one per target per scrape when keep-alive is off), timed from before the
request to the last byte read. ``collect`` is the same text generated in-process (no HTTP).

    PYTHONPATH=src python benchmarks/exporter_scrape.py [--scrapes 1000] [--gpus 8]

Prints percentiles in milliseconds and the machine's load average before and after (other work
on a shared machine slows every figure down).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from readers.fake_nvml import FakeGpu, FakeNvml  # noqa: E402
from wattwise.integrations.prometheus import serve  # noqa: E402
from wattwise.readers.nvml import NvmlReader  # noqa: E402
from wattwise.tracker.core import Tracker  # noqa: E402


def percentiles_ms(samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.2f}, p90 {q[89]:.2f}, p99 {q[98]:.2f}, max {ms[-1]:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrapes", type=int, default=1000)
    ap.add_argument("--gpus", type=int, default=8)
    args = ap.parse_args()
    gpus = [FakeGpu(f"NVIDIA H100 80GB HBM3 #{i}", f"GPU-{i:08x}-fake") for i in range(args.gpus)]
    reader = NvmlReader(nvml=FakeNvml(gpus), environ={})  # type: ignore[arg-type]
    load = os.getloadavg()[0]
    tracker = Tracker("bench", readers=[reader], interval_s=1.0).start()
    exporter = serve(tracker, port=0)
    try:
        for _ in range(20):  # warm up: connection setup, first collection
            urllib.request.urlopen(exporter.url).read()
        http_s, collect_s = [], []
        size = 0
        for _ in range(args.scrapes):
            for g in gpus:  # the counters move between scrapes (400 W per GPU at 1 ms/scrape)
                g.energy_mj += 400
            t0 = time.perf_counter()
            with urllib.request.urlopen(exporter.url) as resp:
                body = resp.read()
            http_s.append(time.perf_counter() - t0)
            size = len(body)
            t0 = time.perf_counter()
            exporter.text()
            collect_s.append(time.perf_counter() - t0)
        n_devices = len(tracker.devices)
    finally:
        exporter.close()
        tracker.stop()
    print(f"{args.scrapes} scrapes, {n_devices} devices, {size} bytes per scrape")
    print(f"HTTP scrape (ms): {percentiles_ms(http_s)}")
    print(f"collect only (ms): {percentiles_ms(collect_s)}")
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

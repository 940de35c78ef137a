"""Is a workload compute-bound or memory-bound? From NVML utilisation, to narrow the search.

``nvmlDeviceGetUtilizationRates`` gives two percentages over the driver's last sample period:
``gpu`` (time one or more kernels ran) and ``memory`` (time device memory was read or written).
While a training or decode loop runs, ``gpu`` is near 100 % whatever the bottleneck, so the
class comes from ``memory``, relative to ``gpu``:

* memory-bound: memory busy at least :data:`MEMORY_BOUND_SHARE` of the kernel-busy time
  (copies, decode at small batch);
* compute-bound: memory busy at most :data:`COMPUTE_BOUND_SHARE` of it (large matmuls);
* mixed otherwise, and ``unknown`` when no kernel ran.

How it narrows the search (:func:`narrow`): for memory-bound work the SM clock the default limit
allows is far more than the work needs, so the GPU draws well below its limit and every limit
above the measured draw changes nothing; those settings are skipped. Compute-bound and mixed
work keep the whole grid (their draw is at the limit, or varies by phase).
These are coarse thresholds, not a model: DCGM's SM / DRAM activity would be finer.
"""

from __future__ import annotations

from collections.abc import Sequence

MEMORY_BOUND_SHARE = 0.75
COMPUTE_BOUND_SHARE = 0.40
CLASSES = ("compute-bound", "memory-bound", "mixed", "unknown")


def classify(gpu_pct: float, memory_pct: float) -> str:
    """The class of a workload from its kernel-busy and memory-busy percentages."""
    if gpu_pct <= 1.0:
        return "unknown"
    share = memory_pct / gpu_pct
    if share >= MEMORY_BOUND_SHARE:
        return "memory-bound"
    if share <= COMPUTE_BOUND_SHARE:
        return "compute-bound"
    return "mixed"


def narrow(grid_w: Sequence[float], workload_class: str, default_draw_w: float) -> list[float]:
    """The limits worth measuring, highest first: for memory-bound work only those below the
    power drawn at the default setting (a limit above the draw cannot bind)."""
    if workload_class != "memory-bound":
        return list(grid_w)
    return [w for w in grid_w if w < default_draw_w]

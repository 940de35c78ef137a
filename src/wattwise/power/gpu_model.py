"""The physical model behind the simulated GPU (:mod:`wattwise.power.simulator`).

One step of a repeated unit of work has ``compute_s`` seconds of SM work at the highest SM clock
and ``memory_s`` seconds of memory traffic (fixed memory clock, so fixed bandwidth). At SM clock
``f`` (MHz)::

    t_compute = compute_s * f_max / f        t_memory = memory_s        T = t_compute + t_memory
    u_sm = t_compute / T                     u_mem = t_memory / T       (activities, 0..1)
    V(f) = V_max * (v_min + (1 - v_min) * (f - f_min) / (f_max - f_min))   (relative voltage)
    P(f) = static_w + memory_w * u_mem
           + dynamic_w * (f / f_max) * (V(f) / V_max)^2 * (idle + (1 - idle) * u_sm)

(``idle`` is ``idle_activity``).

i.e. power = static + dynamic ∝ f·V², the voltage rising with the clock; clocked SMs waiting on
memory still switch a fraction ``idle_activity`` of their logic. The power limit is enforced
the way the driver does it: the SM clock is the highest supported clock (``clock_step_mhz``
apart, at most a locked clock) whose power is at most the limit; when even ``f_min`` exceeds it
the GPU runs at ``f_min`` above the limit (as real GPUs do).

Calibration. The constants of :data:`H100` and the shapes in :data:`SHAPES` were fitted (by
``benchmarks/tune_calibrate.py``) to H100 measurements taken before this project started
(``../shared/notes/optimization-on-cpu.md``, "On a GPU (H100, measured)"): a bf16 matmul loop
at a 600 W limit used 8 % less energy and was 8 % slower than at 700 W, at 500 W 16 % less and
20 % slower; a memory-bound copy loop at 300 W used 21 % less at 0.3 % slower. The clock range
(345–1980 MHz in 15 MHz steps) and the limit range (200–700 W, default 700 W) are an H100 SXM's.
Zeus (NSDI'23) reports 15–76 % savings from power limits and batch size on V100/A100; its
per-limit traces were not available to this project, so they are not used. ``mixed`` is not
calibrated: it is the model's interpolation (half compute, half memory). The fitted errors per
calibration point are in ``benchmarks/tune.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuModel:
    """Constants of one simulated GPU model (watts, MHz)."""

    name: str
    min_limit_w: float
    max_limit_w: float
    default_limit_w: float
    f_min_mhz: float
    f_max_mhz: float
    clock_step_mhz: float
    memory_clock_mhz: int
    static_w: float
    dynamic_w: float
    memory_w: float
    v_min: float
    idle_activity: float

    def supported_clocks_mhz(self) -> list[float]:
        """The SM clocks the GPU can run at, highest first (NVML lists them that way)."""
        n = round((self.f_max_mhz - self.f_min_mhz) / self.clock_step_mhz)
        return [self.f_max_mhz - i * self.clock_step_mhz for i in range(n + 1)]


@dataclass(frozen=True)
class Shape:
    """A unit of work: seconds of SM work at ``f_max`` and seconds of memory traffic per step."""

    name: str
    compute_s: float
    memory_s: float


@dataclass(frozen=True)
class OperatingPoint:
    """Where a GPU settles for one shape and setting."""

    sm_clock_mhz: float
    power_w: float
    step_time_s: float
    sm_activity: float
    memory_activity: float

    @property
    def energy_per_step_j(self) -> float:
        return self.power_w * self.step_time_s


#: H100-like constants, fitted by benchmarks/tune_calibrate.py (see the module docstring).
H100 = GpuModel(
    name="NVIDIA H100 80GB HBM3 (simulated)",
    min_limit_w=200.0,
    max_limit_w=700.0,
    default_limit_w=700.0,
    f_min_mhz=345.0,
    f_max_mhz=1980.0,
    clock_step_mhz=15.0,
    memory_clock_mhz=2619,
    static_w=96.0,
    dynamic_w=816.0,
    memory_w=108.0,
    v_min=0.428,
    idle_activity=0.213,
)

#: The three shapes; compute-bound is the calibrated matmul loop, memory-bound the copy loop.
SHAPES: dict[str, Shape] = {
    "compute-bound": Shape("compute-bound", compute_s=0.097, memory_s=0.003),
    "memory-bound": Shape("memory-bound", compute_s=0.00038, memory_s=0.04964),
    "mixed": Shape("mixed", compute_s=0.05, memory_s=0.05),
}


def power_w(model: GpuModel, shape: Shape, f_mhz: float) -> tuple[float, float, float, float]:
    """(power W, step time s, SM activity, memory activity) of ``shape`` at SM clock ``f_mhz``."""
    t_compute = shape.compute_s * model.f_max_mhz / f_mhz
    step_s = t_compute + shape.memory_s
    u_sm = t_compute / step_s
    u_mem = shape.memory_s / step_s
    span = model.f_max_mhz - model.f_min_mhz
    v = model.v_min + (1.0 - model.v_min) * (f_mhz - model.f_min_mhz) / span
    switching = model.idle_activity + (1.0 - model.idle_activity) * u_sm
    dynamic = model.dynamic_w * (f_mhz / model.f_max_mhz) * v * v * switching
    return model.static_w + model.memory_w * u_mem + dynamic, step_s, u_sm, u_mem


def operating_point(
    model: GpuModel, shape: Shape, limit_w: float, locked_mhz: float | None = None
) -> OperatingPoint:
    """The highest supported SM clock (at most ``locked_mhz``) whose power fits ``limit_w``."""
    clocks = [f for f in model.supported_clocks_mhz() if locked_mhz is None or f <= locked_mhz]
    if not clocks:
        clocks = [model.f_min_mhz]
    for f in clocks:
        p, t, u_sm, u_mem = power_w(model, shape, f)
        if p <= limit_w:
            return OperatingPoint(f, p, t, u_sm, u_mem)
    f = clocks[-1]
    p, t, u_sm, u_mem = power_w(model, shape, f)
    return OperatingPoint(f, p, t, u_sm, u_mem)

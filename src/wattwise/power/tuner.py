"""Just-in-time profiling of a repeated unit of work: which power limit (or SM clock) to keep.

The tuner runs on the job's own first steps (nothing is run twice): for each setting it
applies the setting to every GPU, runs ``warmup_steps`` (the clock settles after a limit change),
then measures ``steps_per_setting`` steps, more while less than ``min_measure_s`` has passed
(NVML's energy counter advances about every 100 ms), from the energy counters
(``nvmlDeviceGetTotalEnergyConsumption``, summed over the GPUs) and the time per step.

Order: the default setting first (the GPUs' default power limit, clocks unlocked): savings and
slowdowns are against it, measured in the same run. Then the limit steps down from the highest
the GPUs allow to the lowest (``grid_step_w`` apart, the minimum constraint always included),
or with ``knob="sm-clock"`` the SM clock is locked from the highest supported clock down
(``clock_step_mhz`` apart) at the default limit. The classifier (:mod:`classify`) skips limits
that cannot bind for memory-bound work. Early stop: once energy per step rose (by more than
``rise_tolerance``) for ``patience`` consecutive settings, or, with the within-slowdown
selector, once ``patience`` consecutive settings were beyond the slowdown bound (a lower
limit is never faster). Then the selector (:mod:`selectors`) chooses, and the chosen setting
is applied and left in place: the caller holds it for the rest of the job and restores the
originals at the end (:class:`wattwise.power.state.guarded`).

Multi-GPU: one setting for all GPUs of the job (the grid is what every GPU allows). In a
data-parallel job launched as several processes, the ranks agree on it over
``torch.distributed`` (``agree=``, :mod:`wattwise.power.agree`): the limits, every measured
chunk (energy summed, time the slowest rank's) and the utilisation are all-reduced before any
decision, so every rank measures the same grid, stops at the same setting and applies the same
choice. A rank that controls no GPU (``control.count == 0``) takes part with zeros.

Two ways to drive it: :func:`tune` pulls steps from a :class:`Workload` (the simulator, a
command's step reports); :func:`tune_steps` is the same tuner as a generator for code whose own
loop pushes the steps (``with wattwise.power.tuned() as t: ... t.step()``): it yields how many
more steps it needs before it resumes, and returns the :class:`TuneResult`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wattwise.errors import ConfigError, WattwiseError
from wattwise.power.agree import ALONE, Agreement
from wattwise.power.classify import classify, narrow
from wattwise.power.nvml_control import GpuSettings, NvmlControl, PowerControlError
from wattwise.power.selectors import Selector

KNOBS = ("power-limit", "sm-clock")


class Workload(Protocol):
    """The repeated unit of work: runs ``n`` more steps (blocking) and tells the time."""

    def run_steps(self, n: int) -> None: ...

    def now_s(self) -> float: ...


@dataclass(frozen=True)
class Setting:
    power_limit_w: float
    sm_clock_mhz: float | None = None


@dataclass(frozen=True)
class TuneOptions:
    selector: Selector = field(default_factory=Selector)
    knob: str = "power-limit"
    grid_step_w: float = 25.0
    clock_step_mhz: float = 105.0
    warmup_steps: int = 3
    steps_per_setting: int = 20
    min_measure_s: float = 1.0
    patience: int = 2
    rise_tolerance: float = 0.01
    use_classifier: bool = True

    def __post_init__(self) -> None:
        if self.knob not in KNOBS:
            raise ConfigError(f"unknown knob {self.knob!r} (one of {', '.join(KNOBS)})")
        if not (1.0 <= self.grid_step_w <= 1000.0 and 1.0 <= self.clock_step_mhz <= 2000.0):
            raise ConfigError("the grid step must be 1-1000 W (clocks: 1-2000 MHz)")
        if self.steps_per_setting < 1 or self.warmup_steps < 0 or self.patience < 1:
            raise ConfigError("--steps-per-setting and --patience must be >= 1, warm-up >= 0")


@dataclass(frozen=True)
class Measurement:
    """One setting as measured: per step, summed over the GPUs."""

    setting: Setting
    steps: int
    time_per_step_s: float
    energy_per_step_j: float
    power_w: float  # average over the measured steps, summed over the GPUs
    gpu_pct: float
    memory_pct: float

    def as_profile(self) -> dict[str, Any]:
        """The shape of one entry of a tuning profile's ``settings``."""
        return {
            "power_limit_w": self.setting.power_limit_w,
            "sm_clock_mhz": self.setting.sm_clock_mhz,
            "steps": self.steps,
            "time_per_step_s": self.time_per_step_s,
            "energy_per_step_j": self.energy_per_step_j,
        }

    def as_dict(self) -> dict[str, Any]:
        """The profile entry plus average power (W, all GPUs) and utilisation (%)."""
        return {
            **self.as_profile(),
            "power_w": self.power_w,
            "gpu_util_pct": self.gpu_pct,
            "memory_util_pct": self.memory_pct,
        }


@dataclass
class TuneResult:
    default: Measurement
    chosen: Measurement
    settings: list[Measurement]
    workload_class: str
    selector: str
    planned: list[Setting]
    stopped_early: str | None = None
    profiling_steps: int = 0
    profiling_energy_j: float = 0.0
    profiling_time_s: float = 0.0

    @property
    def energy_saving(self) -> float:
        return 1.0 - self.chosen.energy_per_step_j / self.default.energy_per_step_j

    @property
    def slowdown(self) -> float:
        return self.chosen.time_per_step_s / self.default.time_per_step_s - 1.0


def common_limits(gpus: Sequence[GpuSettings]) -> tuple[float, float, float]:
    """(lowest, highest, default) power limit every GPU accepts, watts."""
    if not gpus:
        raise ConfigError("no GPU to tune")
    lo = max(g.min_limit_w for g in gpus)
    hi = min(g.max_limit_w for g in gpus)
    if lo > hi:
        raise ConfigError("the GPUs share no power limit they all accept")
    default = min(max(min(g.default_limit_w for g in gpus), lo), hi)
    return lo, hi, default


def agreed_limits(gpus: Sequence[GpuSettings], agree: Agreement) -> tuple[float, float, float]:
    """:func:`common_limits` over every rank's GPUs (a rank without GPUs constrains nothing)."""
    local = common_limits(gpus) if gpus else (-math.inf, math.inf, math.inf)
    if agree.world_size == 1:
        return common_limits(gpus)
    lo, neg_hi, neg_default = agree.max([local[0], -local[1], -local[2]])
    if not all(math.isfinite(x) for x in (lo, neg_hi, neg_default)):
        raise ConfigError("no GPU to tune on any rank of the job")
    if lo > -neg_hi:
        raise ConfigError("the job's GPUs share no power limit they all accept")
    return lo, -neg_hi, min(max(-neg_default, lo), -neg_hi)


def plan(
    gpus: Sequence[GpuSettings], options: TuneOptions, agree: Agreement = ALONE
) -> tuple[Setting, list[Setting]]:
    """(the default setting, the grid to measure after it, highest first)."""
    lo, hi, default_w = agreed_limits(gpus, agree)
    default = Setting(default_w)
    if options.knob == "power-limit":
        limits, w = [], hi
        while w > lo + 1e-9:
            limits.append(round(w, 3))
            w -= options.grid_step_w
        limits.append(lo)
        return default, [Setting(x) for x in limits if x != default_w]
    if agree.world_size > 1:
        raise ConfigError("the SM-clock knob tunes one process's GPUs; use the power limit")
    clocks = sorted(set.intersection(*(set(g.sm_clocks_mhz) for g in gpus)), reverse=True)
    if not clocks:
        raise ConfigError("the GPUs report no supported SM clocks to lock")
    picked, target = [], clocks[0]
    for c in clocks:
        if c <= target + 1e-9:
            picked.append(c)
            target = c - options.clock_step_mhz
    if clocks[-1] not in picked:
        picked.append(clocks[-1])
    return default, [Setting(default_w, c) for c in picked]


def apply(control: NvmlControl, setting: Setting, knob: str) -> None:
    """Put every GPU at ``setting``."""
    for i in range(control.count):
        if control.settings(i).power_limit_w != setting.power_limit_w:
            control.set_power_limit(i, setting.power_limit_w)
        if knob == "sm-clock":
            if setting.sm_clock_mhz is None:
                control.reset_sm_clock(i)
            else:
                control.lock_sm_clock(i, setting.sm_clock_mhz)


#: A generator of the tuner: yields how many more steps it needs, returns ``T``.
Steps = Generator[int, None, Any]


class _Meter:
    """Counts what profiling costs, and measures one setting (job-wide numbers: see ``agree``)."""

    def __init__(
        self,
        control: NvmlControl,
        clock: Callable[[], float],
        options: TuneOptions,
        agree: Agreement,
        energy: Callable[[], float] | None = None,
    ) -> None:
        self.control, self.clock, self.options, self.agree = control, clock, options, agree
        self._energy_fn = energy
        self.failure: str | None = None  # this rank's first failure, not yet agreed on
        self.steps = 0
        self.energy_j = 0.0
        self.time_s = 0.0

    def _energy(self) -> float:
        if self._energy_fn is not None:
            return self._energy_fn()
        return sum(self.control.energy_j(i) for i in range(self.control.count))

    def _local(self, fn: Callable[[], Any], default: Any) -> Any:
        """``fn()``; in a job of several ranks a failure is kept for the next agreement (every
        rank must reach it, or the others would wait there), alone it is raised at once."""
        try:
            return fn()
        except WattwiseError as exc:
            if self.agree.world_size == 1:
                raise
            self.failure = self.failure or str(exc)
            return default

    def _agreed_sum(self, values: list[float]) -> list[float]:
        """:meth:`Agreement.sum` plus every rank's failure flag: all ranks stop together."""
        *out, failed = self.agree.sum([*values, 1.0 if self.failure else 0.0])
        if failed:
            why = f" (here: {self.failure})" if self.failure else ""
            raise PowerControlError(
                f"tuning stopped on every rank: {failed:.0f} rank(s) could not measure or apply "
                f"a setting{why}"
            )
        return out

    def _run(self, n: int) -> Generator[int, None, tuple[float, float]]:
        e0, t0 = self._local(self._energy, 0.0), self.clock()
        yield n
        de, dt = self._local(self._energy, e0) - e0, self.clock() - t0
        (de,) = self._agreed_sum([de])
        (dt,) = self.agree.max([dt])
        self.steps += n
        self.energy_j += de
        self.time_s += dt
        return de, dt

    def measure(self, setting: Setting) -> Generator[int, None, Measurement]:
        self._local(lambda: apply(self.control, setting, self.options.knob), None)
        if self.options.warmup_steps:
            yield from self._run(self.options.warmup_steps)
        steps, energy_j, time_s = 0, 0.0, 0.0
        while steps == 0 or (time_s < self.options.min_measure_s and steps < 100_000):
            de, dt = yield from self._run(self.options.steps_per_setting)
            steps, energy_j, time_s = (
                steps + self.options.steps_per_setting,
                energy_j + de,
                time_s + dt,
            )
        util = self._local(
            lambda: [self.control.utilization(i) for i in range(self.control.count)], []
        )
        gpu_sum, mem_sum, n_gpus = self._agreed_sum(
            [sum(u[0] for u in util), sum(u[1] for u in util), float(len(util))]
        )
        return Measurement(
            setting,
            steps,
            time_s / steps,
            energy_j / steps,
            energy_j / time_s if time_s > 0 else 0.0,
            gpu_sum / n_gpus if n_gpus else 0.0,
            mem_sum / n_gpus if n_gpus else 0.0,
        )


def _stop_reason(
    measured: Sequence[Measurement], default: Measurement, options: TuneOptions
) -> str | None:
    k = options.patience
    if len(measured) > k:
        tail = measured[-(k + 1) :]
        if all(
            b.energy_per_step_j > a.energy_per_step_j * (1 + options.rise_tolerance)
            for a, b in itertools.pairwise(tail)
        ):
            return f"energy per step rose for {k} consecutive settings"
    sel = options.selector
    if (
        sel.name == "min-energy-within-slowdown"
        and len(measured) >= k
        and all(
            not sel.admissible(m.time_per_step_s, default.time_per_step_s) for m in measured[-k:]
        )
    ):
        return f"{k} consecutive settings beyond the slowdown bound ({sel.max_slowdown:g})"
    return None


def tune(
    control: NvmlControl, workload: Workload, options: TuneOptions, agree: Agreement = ALONE
) -> TuneResult:
    """Profile, choose, and leave the chosen setting applied (see the module docstring)."""
    gen = tune_steps(control, workload.now_s, options, agree)
    try:
        n = next(gen)
        while True:
            workload.run_steps(n)
            n = gen.send(None)
    except StopIteration as done:
        result: TuneResult = done.value
        return result


def tune_steps(
    control: NvmlControl,
    clock: Callable[[], float],
    options: TuneOptions,
    agree: Agreement = ALONE,
    energy: Callable[[], float] | None = None,
) -> Generator[int, None, TuneResult]:
    """:func:`tune` for a loop that pushes its steps: yields the steps it needs before it goes
    on (``clock``: seconds, read at those step boundaries), returns the result. ``energy``:
    the GPUs' energy so far, J (default: the sum of their counters), for a caller that leaves
    out some of it (the evaluation a fit runs while it is profiled)."""
    gpus = [control.settings(i) for i in range(control.count)]
    default_setting, grid = plan(gpus, options, agree)
    _lo, hi, _default_w = agreed_limits(gpus, agree)
    (n_gpus,) = agree.sum([float(control.count)])
    meter = _Meter(control, clock, options, agree, energy)
    default = yield from meter.measure(default_setting)
    workload_class = classify(default.gpu_pct, default.memory_pct)
    if options.use_classifier and options.knob == "power-limit":
        draw_per_gpu_w = default.power_w / max(n_gpus, 1.0)
        grid = [
            Setting(w)
            for w in narrow([s.power_limit_w for s in grid], workload_class, draw_per_gpu_w)
        ]
    measured = [default]
    stopped = None
    for setting in grid:
        measured.append((yield from meter.measure(setting)))
        stopped = _stop_reason(measured, default, options)
        if stopped:
            break
    max_power_w = hi * max(n_gpus, 1.0)
    points = [(m.energy_per_step_j, m.time_per_step_s) for m in measured]
    idx = options.selector.choose(points, points[0], max_power_w)
    chosen = measured[idx]
    apply(control, chosen.setting, options.knob)
    return TuneResult(
        default=default,
        chosen=chosen,
        settings=measured,
        workload_class=workload_class,
        selector=options.selector.label(),
        planned=[default_setting, *grid],
        stopped_early=stopped,
        profiling_steps=meter.steps,
        profiling_energy_j=meter.energy_j,
        profiling_time_s=meter.time_s,
    )


def payback(result: TuneResult, job_steps: int) -> dict[str, Any]:
    """What profiling cost and when it is paid back, for a job of ``job_steps`` steps.

    ``overhead_j``: the profiling steps' energy beyond what they would have cost at the chosen
    setting. ``break_even_step``: the first step after profiling from which the tuned job has
    used no more energy than the same steps at the default setting (None: never, within the
    job, or nothing saved).
    """
    n = result.profiling_steps
    e_default, e_chosen = result.default.energy_per_step_j, result.chosen.energy_per_step_j
    overhead_j = result.profiling_energy_j - n * e_chosen
    behind_j = result.profiling_energy_j - n * e_default  # vs an untuned job, after profiling
    saving = e_default - e_chosen
    if behind_j <= 0:
        break_even: int | None = n
    elif saving > 0:
        break_even = n + int(-(-behind_j // saving))
    else:
        break_even = None
    if break_even is not None and break_even > job_steps:
        break_even = None
    return {
        "job_steps": job_steps,
        "profiling_steps": n,
        "profiling_energy_j": result.profiling_energy_j,
        "profiling_time_s": result.profiling_time_s,
        "overhead_j": overhead_j,
        "break_even_step": break_even,
        "break_even_fraction": None if break_even is None else break_even / job_steps,
    }

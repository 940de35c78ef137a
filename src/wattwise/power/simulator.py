"""A simulated GPU: a module object with nvidia-ml-py's functions over :mod:`gpu_model`.

Everything it reports is *simulated* (the GPU name says so, and every wattwise output that uses
it carries ``"simulated": true``). It exists for tests and demos of the power tuner: the control
layer (:mod:`wattwise.power.nvml_control`) drives it exactly as it drives ``pynvml``.

Time is simulated too: nothing sleeps. :meth:`SimulatedNvml.run_steps` runs steps of the
workload shape at the current operating point, advancing the simulated clock
(:meth:`SimulatedNvml.now_s`) and the energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
integer mJ, consistent with ``nvmlDeviceGetPowerUsage``, the average power of the last step in
mW). Per-step energy has a small seeded noise (``noise``, relative standard deviation; 0.5 %
by default, about what the NVML counter shows over a 0.1 s window).
``nvmlDeviceGetUtilizationRates`` returns ``.gpu`` (percent of time a kernel ran: 100 while the
workload runs, as on a real GPU) and ``.memory`` (percent of time memory was read or written:
the model's memory activity).

Settings (power limit, locked clocks) live on the "GPU" like on a real one: with ``settings_file``
they are kept in that JSON file, so a process killed with SIGKILL leaves them changed and a later
``wattwise tune --reset`` finds them (the restore tests use this).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from wattwise.power.gpu_model import H100, SHAPES, GpuModel, OperatingPoint, operating_point

NVML_SUCCESS = 0
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
SIMULATED_UUID_PREFIX = "GPU-5157-"


class NVMLError(Exception):
    """Same contract as ``pynvml.NVMLError``: ``.value`` is the NVML return code."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {2: "Invalid Argument", 3: "Not Supported", 4: "Insufficient Permissions"}.get(
            self.value, f"NVML Error with code {self.value}"
        )


@dataclass
class _Gpu:
    index: int
    limit_mw: int
    locked_mhz: float | None = None
    energy_mj: float = 0.0
    last: OperatingPoint | None = None


@dataclass(frozen=True)
class _Handle:
    index: int


@dataclass
class SimulatedNvml(ModuleType):
    """``pynvml``'s functions over ``count`` simulated GPUs running ``shape``."""

    shape: str
    count: int = 1
    model: GpuModel = H100
    noise: float = 0.005
    seed: int = 0
    settings_file: Path | None = None
    privileged: bool = True
    _gpus: list[_Gpu] = field(default_factory=list)
    _now_s: float = 0.0
    _initialised: int = 0
    _points: dict[tuple[int, float | None], OperatingPoint] = field(default_factory=dict)

    NVML_SUCCESS = NVML_SUCCESS
    NVML_ERROR_INVALID_ARGUMENT = NVML_ERROR_INVALID_ARGUMENT
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_NO_PERMISSION = NVML_ERROR_NO_PERMISSION
    NVML_CLOCK_SM = NVML_CLOCK_SM
    NVML_CLOCK_MEM = NVML_CLOCK_MEM
    NVMLError = NVMLError

    def __post_init__(self) -> None:
        ModuleType.__init__(self, "pynvml")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown simulated shape {self.shape!r}")
        self._rng = random.Random(self.seed)
        default_mw = int(self.model.default_limit_w * 1000)
        self._gpus = [_Gpu(i, default_mw) for i in range(self.count)]
        self._load_settings()

    # -- simulation (not part of pynvml) ---------------------------------------------------------
    simulated = True

    def now_s(self) -> float:
        """The simulated clock, seconds since the simulator was made."""
        return self._now_s

    def point(self, index: int = 0) -> OperatingPoint:
        """Where GPU ``index`` runs at its current settings (the model, no noise)."""
        gpu = self._gpus[index]
        key = (gpu.limit_mw, gpu.locked_mhz)
        if key not in self._points:
            self._points[key] = operating_point(
                self.model, SHAPES[self.shape], gpu.limit_mw / 1000.0, gpu.locked_mhz
            )
        return self._points[key]

    def run_steps(self, n: int) -> None:
        """Run ``n`` steps on every GPU (data-parallel: a step ends when the slowest GPU's ends)."""
        for _ in range(n):
            points = [self.point(g.index) for g in self._gpus]
            step_s = max(p.step_time_s for p in points)
            for gpu, p in zip(self._gpus, points, strict=True):
                jitter = 1.0 + self._rng.gauss(0.0, self.noise)
                # A GPU done early idles at static power for the rest of the step.
                idle_j = self.model.static_w * (step_s - p.step_time_s)
                gpu.energy_mj += 1000.0 * (p.energy_per_step_j * jitter + idle_j)
                gpu.last = p
            self._now_s += step_s

    # -- persistence of the settings (like a real GPU keeps them past a process) ---------------
    def _load_settings(self) -> None:
        if self.settings_file is None:
            return
        try:
            doc = json.loads(self.settings_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for row in doc.get("gpus", []) if isinstance(doc, dict) else []:
            i = row.get("index")
            if isinstance(i, int) and 0 <= i < self.count:
                self._gpus[i].limit_mw = int(row.get("limit_mw", self._gpus[i].limit_mw))
                locked = row.get("locked_mhz")
                self._gpus[i].locked_mhz = float(locked) if locked is not None else None

    def _save_settings(self) -> None:
        if self.settings_file is None:
            return
        from wattwise.outputs import atomic_write_text

        default_mw = int(self.model.default_limit_w * 1000)
        changed = [g for g in self._gpus if g.limit_mw != default_mw or g.locked_mhz is not None]
        if not changed:
            self.settings_file.unlink(missing_ok=True)
            return
        rows = [
            {"index": g.index, "limit_mw": g.limit_mw, "locked_mhz": g.locked_mhz}
            for g in self._gpus
        ]
        self.settings_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.settings_file, json.dumps({"simulated": True, "gpus": rows}))

    # -- the pynvml API --------------------------------------------------------------------------
    def _gpu(self, handle: _Handle) -> _Gpu:
        if self._initialised <= 0:
            raise NVMLError(1)
        return self._gpus[handle.index]

    def _check_privileged(self) -> None:
        if not self.privileged:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)

    def nvmlInit(self) -> None:
        self._initialised += 1

    def nvmlShutdown(self) -> None:
        self._initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "simulated"

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        if not 0 <= index < self.count:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(index)

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        self._gpu(handle)
        return self.model.name

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        return f"{SIMULATED_UUID_PREFIX}{self._gpu(handle).index:04d}-0000-0000-000000000000"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        return int(self._gpu(handle).energy_mj)

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        gpu = self._gpu(handle)
        watts = gpu.last.power_w if gpu.last is not None else self.model.static_w
        return int(watts * 1000)

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> SimpleNamespace:
        gpu = self._gpu(handle)
        busy = gpu.last is not None
        mem = round(100 * gpu.last.memory_activity) if gpu.last is not None else 0
        return SimpleNamespace(gpu=100 if busy else 0, memory=mem)

    def nvmlDeviceGetClockInfo(self, handle: _Handle, clock_type: int) -> int:
        gpu = self._gpu(handle)
        if clock_type == NVML_CLOCK_MEM:
            return self.model.memory_clock_mhz
        return int(self.point(gpu.index).sm_clock_mhz)

    def nvmlDeviceGetPowerManagementLimit(self, handle: _Handle) -> int:
        return self._gpu(handle).limit_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        return self._gpu(handle).limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: _Handle) -> int:
        self._gpu(handle)
        return int(self.model.default_limit_w * 1000)

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: _Handle) -> list[int]:
        self._gpu(handle)
        return [int(self.model.min_limit_w * 1000), int(self.model.max_limit_w * 1000)]

    def nvmlDeviceGetPersistenceMode(self, handle: _Handle) -> int:
        self._gpu(handle)
        return 1

    def nvmlDeviceGetSupportedMemoryClocks(self, handle: _Handle) -> list[int]:
        self._gpu(handle)
        return [self.model.memory_clock_mhz]

    def nvmlDeviceGetSupportedGraphicsClocks(self, handle: _Handle, mem_mhz: int) -> list[int]:
        self._gpu(handle)
        if mem_mhz != self.model.memory_clock_mhz:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return [int(f) for f in self.model.supported_clocks_mhz()]

    def nvmlDeviceSetPowerManagementLimit(self, handle: _Handle, limit_mw: int) -> None:
        gpu = self._gpu(handle)
        self._check_privileged()
        lo, hi = self.model.min_limit_w * 1000, self.model.max_limit_w * 1000
        if not lo <= limit_mw <= hi:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu.limit_mw = int(limit_mw)
        self._save_settings()

    def nvmlDeviceSetGpuLockedClocks(self, handle: _Handle, min_mhz: int, max_mhz: int) -> None:
        gpu = self._gpu(handle)
        self._check_privileged()
        if min_mhz > max_mhz or max_mhz < self.model.f_min_mhz:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu.locked_mhz = float(max_mhz)
        self._save_settings()

    def nvmlDeviceResetGpuLockedClocks(self, handle: _Handle) -> None:
        gpu = self._gpu(handle)
        self._check_privileged()
        gpu.locked_mhz = None
        self._save_settings()


def settings_path(state_dir: Path) -> Path:
    """Where the simulated GPUs keep their settings between processes."""
    return state_dir / "simulated-gpu.json"


def make(shape: str, state_dir: Path | None = None, count: int = 1, seed: int = 0) -> SimulatedNvml:
    """A simulated GPU set whose settings persist under ``state_dir`` (None: in memory only)."""
    path = settings_path(state_dir) if state_dir is not None else None
    return SimulatedNvml(shape=shape, count=count, seed=seed, settings_file=path)


def brute_force_optimum(
    shape: str, selector: Any, grid: list[tuple[float, float | None]], model: GpuModel = H100
) -> tuple[float, float | None]:
    """The simulator's known optimum: ``selector`` (a :class:`~wattwise.power.selectors.Selector`)
    applied to the noise-free model at every ``(limit W, locked clock MHz or None)`` of
    ``grid``, whose first entry is the default setting."""
    points = [operating_point(model, SHAPES[shape], w, f) for w, f in grid]
    pairs = [(p.energy_per_step_j, p.step_time_s) for p in points]
    chosen: int = selector.choose(pairs, pairs[0], model.max_limit_w)
    return grid[chosen]

"""The tests' fake of nvidia-ml-py's control functions: ``readers/fake_nvml.py`` plus the
power-management setters and getters, with the real names, mW / MHz units and error codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from readers.fake_nvml import (
    NVML_ERROR_INVALID_ARGUMENT,
    NVML_ERROR_NO_PERMISSION,
    NVML_ERROR_NOT_SUPPORTED,
    FakeGpu,
    FakeNvml,
    NVMLError,
    _Handle,
)


@dataclass
class ControlGpu(FakeGpu):
    default_limit_mw: int = 700_000
    sm_clocks_mhz: list[int] = field(default_factory=lambda: [1980, 1500, 1005, 510])
    locked_mhz: int | None = None
    #: raise NVML_ERROR_NO_PERMISSION from every setter (a user without the privilege)
    deny: bool = False
    #: raise NVML_ERROR_NOT_SUPPORTED from the power-limit setter (a GPU without power management)
    unsupported: bool = False


class ControlNvml(FakeNvml):
    NVML_ERROR_INVALID_ARGUMENT = NVML_ERROR_INVALID_ARGUMENT

    def __init__(self, gpus: list[ControlGpu]) -> None:
        super().__init__(list(gpus))
        self.sets: list[tuple[str, int, tuple[int, ...]]] = []

    def _cgpu(self, handle: _Handle) -> ControlGpu:
        gpu = self._gpu(handle)
        assert isinstance(gpu, ControlGpu)
        return gpu

    def nvmlDeviceGetPowerManagementLimit(self, handle: _Handle) -> int:
        self._initialised("nvmlDeviceGetPowerManagementLimit")
        return self._cgpu(handle).power_limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: _Handle) -> int:
        self._initialised("nvmlDeviceGetPowerManagementDefaultLimit")
        return self._cgpu(handle).default_limit_mw

    def nvmlDeviceGetPersistenceMode(self, handle: _Handle) -> int:
        self._initialised("nvmlDeviceGetPersistenceMode")
        return 0

    def nvmlDeviceGetSupportedMemoryClocks(self, handle: _Handle) -> list[int]:
        self._initialised("nvmlDeviceGetSupportedMemoryClocks")
        return [2619]

    def nvmlDeviceGetSupportedGraphicsClocks(self, handle: _Handle, mem: int) -> list[int]:
        self._initialised("nvmlDeviceGetSupportedGraphicsClocks")
        return list(self._cgpu(handle).sm_clocks_mhz)

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> SimpleNamespace:
        self._initialised("nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=100, memory=30)

    def _setter(self, fn: str, handle: _Handle, *values: int) -> ControlGpu:
        self._initialised(fn)
        gpu = self._cgpu(handle)
        if gpu.deny:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)
        self.sets.append((fn, handle.index, values))
        return gpu

    def nvmlDeviceSetPowerManagementLimit(self, handle: _Handle, limit_mw: int) -> None:
        gpu = self._setter("nvmlDeviceSetPowerManagementLimit", handle, limit_mw)
        if gpu.unsupported:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        lo, hi = gpu.limit_constraints_mw or (0, 0)
        if not lo <= limit_mw <= hi:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu.power_limit_mw = limit_mw

    def nvmlDeviceSetGpuLockedClocks(self, handle: _Handle, lo: int, hi: int) -> None:
        self._setter("nvmlDeviceSetGpuLockedClocks", handle, lo, hi).locked_mhz = hi

    def nvmlDeviceResetGpuLockedClocks(self, handle: _Handle) -> None:
        self._setter("nvmlDeviceResetGpuLockedClocks", handle).locked_mhz = None


def h100_control(i: int = 0, **kw: object) -> ControlGpu:
    return ControlGpu(
        "NVIDIA H100 80GB HBM3",
        f"GPU-{i:08x}-1111-2222-3333-444455556666",
        energy_mj=1_000_000,
        power_limit_mw=700_000,
        limit_constraints_mw=(200_000, 700_000),
        **kw,  # type: ignore[arg-type]
    )

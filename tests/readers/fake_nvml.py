"""A fake ``pynvml`` module of the real one's shape (nvidia-ml-py 12/13), for tests only.

Functions, constants and the ``NVMLError`` class carry the real names and return types: counts
and readings are ints in mJ / mW, names and UUIDs are str (or bytes, as older releases returned),
``nvmlDeviceGetMigMode`` returns ``[current, pending]``. Errors are raised as ``NVMLError(code)``
with ``.value``, like the real binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_UNKNOWN = 999
NVML_DEVICE_MIG_DISABLE = 0
NVML_DEVICE_MIG_ENABLE = 1

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Same contract as ``pynvml.NVMLError``: ``.value`` is the NVML return code."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


@dataclass
class FakeGpu:
    """One fake GPU. ``energy_mj`` None: no energy counter (pre-Volta); ``mig_mode`` None: MIG
    not supported. After ``fail_after`` successful energy/power reads, those reads raise
    ``NVMLError(fail_code)``."""

    name: str
    uuid: str
    energy_mj: Any = 0  # an int as NVML returns; tests may set NaN, a str, ... (glitches)
    power_mw: Any = 100_000
    power_limit_mw: int = 300_000
    #: (min, max) of nvmlDeviceGetPowerManagementLimitConstraints; None: not supported.
    limit_constraints_mw: tuple[int, int] | None = None
    mig_mode: tuple[int, int] | None = None
    mig_uuids: tuple[str, ...] = ()
    fail_after: int | None = None
    fail_code: int = NVML_ERROR_GPU_IS_LOST
    reads: int = 0


@dataclass(frozen=True)
class _Handle:
    index: int
    mig: str | None = None


class FakeNvml(ModuleType):
    """A module object whose functions behave like pynvml over ``gpus``."""

    NVML_SUCCESS = NVML_SUCCESS
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_NO_PERMISSION = NVML_ERROR_NO_PERMISSION
    NVML_ERROR_DRIVER_NOT_LOADED = NVML_ERROR_DRIVER_NOT_LOADED
    NVML_ERROR_LIBRARY_NOT_FOUND = NVML_ERROR_LIBRARY_NOT_FOUND
    NVML_ERROR_FUNCTION_NOT_FOUND = NVML_ERROR_FUNCTION_NOT_FOUND
    NVML_ERROR_GPU_IS_LOST = NVML_ERROR_GPU_IS_LOST
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = NVML_ERROR_LIB_RM_VERSION_MISMATCH
    NVML_ERROR_UNKNOWN = NVML_ERROR_UNKNOWN
    NVML_DEVICE_MIG_DISABLE = NVML_DEVICE_MIG_DISABLE
    NVML_DEVICE_MIG_ENABLE = NVML_DEVICE_MIG_ENABLE
    NVMLError = NVMLError

    def __init__(
        self,
        gpus: list[FakeGpu],
        *,
        init_error: int | None = None,
        shutdown_error: int | None = None,
        strings_as_bytes: bool = False,
        driver_version: str = "550.54.15",
    ) -> None:
        super().__init__("pynvml")
        self.gpus = gpus
        self.init_error = init_error
        self.shutdown_error = shutdown_error
        self.strings_as_bytes = strings_as_bytes
        self.driver_version = driver_version
        self.init_count = 0
        self.shutdown_count = 0
        self.calls: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------------------
    def _initialised(self, fn: str) -> None:
        self.calls[fn] = self.calls.get(fn, 0) + 1
        if self.init_count <= self.shutdown_count:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, handle: _Handle) -> FakeGpu:
        return self.gpus[handle.index]

    def _string(self, value: str) -> str | bytes:
        return value.encode() if self.strings_as_bytes else value

    def _count_read(self, gpu: FakeGpu) -> None:
        if gpu.fail_after is not None and gpu.reads >= gpu.fail_after:
            raise NVMLError(gpu.fail_code)
        gpu.reads += 1

    # -- the pynvml API ------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self.shutdown_count += 1
        if self.shutdown_error is not None:
            raise NVMLError(self.shutdown_error)

    def nvmlSystemGetDriverVersion(self) -> str | bytes:
        self._initialised("nvmlSystemGetDriverVersion")
        return self._string(self.driver_version)

    def nvmlDeviceGetCount(self) -> int:
        self._initialised("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._initialised("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> _Handle:
        self._initialised("nvmlDeviceGetHandleByUUID")
        for i, gpu in enumerate(self.gpus):
            if uuid == gpu.uuid:
                return _Handle(i)
            if uuid in gpu.mig_uuids:
                return _Handle(i, mig=uuid)
        raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, handle: _Handle) -> _Handle:
        self._initialised("nvmlDeviceGetDeviceHandleFromMigDeviceHandle")
        if handle.mig is None:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(handle.index)

    def nvmlDeviceGetName(self, handle: _Handle) -> str | bytes:
        self._initialised("nvmlDeviceGetName")
        return self._string(self._gpu(handle).name)

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str | bytes:
        self._initialised("nvmlDeviceGetUUID")
        return self._string(self._gpu(handle).uuid)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> Any:
        self._initialised("nvmlDeviceGetTotalEnergyConsumption")
        gpu = self._gpu(handle)
        if gpu.energy_mj is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        self._count_read(gpu)
        return gpu.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> Any:
        self._initialised("nvmlDeviceGetPowerUsage")
        gpu = self._gpu(handle)
        if gpu.power_mw is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        self._count_read(gpu)
        return gpu.power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        self._initialised("nvmlDeviceGetEnforcedPowerLimit")
        return self._gpu(handle).power_limit_mw

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: _Handle) -> list[int]:
        self._initialised("nvmlDeviceGetPowerManagementLimitConstraints")
        limits = self._gpu(handle).limit_constraints_mw
        if limits is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return [limits[0], limits[1]]

    def nvmlDeviceGetMigMode(self, handle: _Handle) -> list[int]:
        self._initialised("nvmlDeviceGetMigMode")
        mode = self._gpu(handle).mig_mode
        if mode is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return [mode[0], mode[1]]


def h100(i: int) -> FakeGpu:
    """A Hopper-like GPU with the energy counter, already past 1 GJ since driver load."""
    return FakeGpu(
        "NVIDIA H100 80GB HBM3",
        f"GPU-{i:08x}-1111-2222-3333-444455556666",
        energy_mj=1_000_000_000_000 + 7 * i,
        power_limit_mw=700_000,
    )


def p100(i: int) -> FakeGpu:
    """A Pascal-like GPU without the energy counter (power samples only)."""
    return FakeGpu(
        "Tesla P100-PCIE-16GB", f"GPU-{i:08x}-aaaa-bbbb-cccc-ddddeeeeffff", energy_mj=None
    )

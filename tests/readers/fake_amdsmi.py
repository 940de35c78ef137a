"""A fake ``amdsmi`` module of the real one's shape (amdsmi 6.x / 7.x), for tests only.

Return values are dicts with the real keys; unavailable fields are the string ``"N/A"``;
errors are ``AmdSmiLibraryException(code)`` with ``err_code`` and ``err_info``, subclasses of
``AmdSmiException``, as in the real package.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

AMDSMI_STATUS_NOT_SUPPORTED = 2
AMDSMI_STATUS_FAIL_LOAD_MODULE = 4
AMDSMI_STATUS_NO_PERM = 10
AMDSMI_STATUS_IO = 12
AMDSMI_STATUS_INIT_ERROR = 18
AMDSMI_STATUS_DRIVER_NOT_LOADED = 34

_INFO = {
    AMDSMI_STATUS_NOT_SUPPORTED: "AMDSMI_STATUS_NOT_SUPPORTED - Feature not supported",
    AMDSMI_STATUS_FAIL_LOAD_MODULE: "AMDSMI_STATUS_FAIL_LOAD_MODULE - Fail to load lib",
    AMDSMI_STATUS_NO_PERM: "AMDSMI_STATUS_NO_PERM - Permission Denied",
    AMDSMI_STATUS_IO: "AMDSMI_STATUS_IO - I/O Error",
    AMDSMI_STATUS_INIT_ERROR: "AMDSMI_STATUS_INIT_ERROR - Initialization error",
    AMDSMI_STATUS_DRIVER_NOT_LOADED: "AMDSMI_STATUS_DRIVER_NOT_LOADED - Driver not loaded",
}


class AmdSmiException(Exception):
    """Base class, as ``amdsmi.AmdSmiException``."""


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        super().__init__(err_code)
        self.err_code = abs(err_code)
        self.err_info = _INFO.get(self.err_code, "AMDSMI_STATUS_UNKNOWN_ERROR")

    def __str__(self) -> str:
        return f"Error code:\n\t{self.err_code} | {self.err_info}"


@dataclass
class FakeAmdGpu:
    """One fake GPU. ``energy_counts`` None: counter unsupported. ``hip_id`` None: the amdsmi
    release has no enumeration info. ``legacy_energy_key``: return the accumulator as ``power``
    (amdsmi < 6.2). After ``fail_after`` energy/power reads, they raise ``fail_code``."""

    name: str
    uuid: str
    bdf: str
    energy_counts: Any = 0  # None: unsupported; tests may set NaN, "N/A", ... (glitches)
    counter_resolution_uj: float = 15.3
    current_socket_power_w: int | str = "N/A"
    average_socket_power_w: int | str = 250
    power_cap_uw: int = 750_000_000
    max_power_cap_uw: int | str = "N/A"
    hip_id: int | None = None
    legacy_energy_key: bool = False
    fail_after: int | None = None
    fail_code: int = AMDSMI_STATUS_IO
    reads: int = 0


@dataclass(frozen=True)
class _Handle:
    position: int


class FakeAmdSmi(ModuleType):
    """A module object whose functions behave like amdsmi over ``gpus``."""

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    __version__ = "7.0.2-fake"

    def __init__(self, gpus: list[FakeAmdGpu], *, init_error: int | None = None) -> None:
        super().__init__("amdsmi")
        self.gpus = gpus
        self.init_error = init_error
        self.initialised = False
        self.shutdowns = 0

    def _gpu(self, handle: _Handle) -> FakeAmdGpu:
        if not self.initialised:
            raise AmdSmiLibraryException(AMDSMI_STATUS_INIT_ERROR)
        return self.gpus[handle.position]

    def _count_read(self, gpu: FakeAmdGpu) -> None:
        if gpu.fail_after is not None and gpu.reads >= gpu.fail_after:
            raise AmdSmiLibraryException(gpu.fail_code)
        gpu.reads += 1

    def amdsmi_init(self, flag: int = 2) -> None:
        if self.init_error is not None:
            raise AmdSmiLibraryException(self.init_error)
        self.initialised = True

    def amdsmi_shut_down(self) -> None:
        self.shutdowns += 1
        self.initialised = False

    def amdsmi_get_processor_handles(self) -> list[_Handle]:
        if not self.initialised:
            raise AmdSmiLibraryException(AMDSMI_STATUS_INIT_ERROR)
        return [_Handle(i) for i in range(len(self.gpus))]

    def amdsmi_get_gpu_asic_info(self, handle: _Handle) -> dict[str, Any]:
        return {"market_name": self._gpu(handle).name, "vendor_id": "0x1002"}

    def amdsmi_get_gpu_board_info(self, handle: _Handle) -> dict[str, Any]:
        return {"product_name": "N/A"}

    def amdsmi_get_gpu_device_uuid(self, handle: _Handle) -> str:
        return self._gpu(handle).uuid

    def amdsmi_get_gpu_device_bdf(self, handle: _Handle) -> str:
        return self._gpu(handle).bdf

    def amdsmi_get_gpu_enumeration_info(self, handle: _Handle) -> dict[str, Any]:
        gpu = self._gpu(handle)
        if gpu.hip_id is None:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_SUPPORTED)
        return {"drm_card": 0, "hip_id": gpu.hip_id, "hip_uuid": f"GPU-{gpu.uuid[-16:]}"}

    def amdsmi_get_energy_count(self, handle: _Handle) -> dict[str, Any]:
        gpu = self._gpu(handle)
        if gpu.energy_counts is None:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_SUPPORTED)
        self._count_read(gpu)
        key = "power" if gpu.legacy_energy_key else "energy_accumulator"
        return {
            key: gpu.energy_counts,
            "counter_resolution": gpu.counter_resolution_uj,
            "timestamp": 1,
        }

    def amdsmi_get_power_info(self, handle: _Handle) -> dict[str, Any]:
        gpu = self._gpu(handle)
        self._count_read(gpu)
        return {
            "socket_power": "N/A",
            "current_socket_power": gpu.current_socket_power_w,
            "average_socket_power": gpu.average_socket_power_w,
            "gfx_voltage": "N/A",
            "power_limit": 750,
        }

    def amdsmi_get_power_cap_info(self, handle: _Handle) -> dict[str, Any]:
        gpu = self._gpu(handle)
        return {
            "power_cap": gpu.power_cap_uw,
            "max_power_cap": gpu.max_power_cap_uw,
            "dpm_cap": 2100,
        }


def mi300x(i: int, **fields: Any) -> FakeAmdGpu:
    """An MI300X-like GPU with the energy counter, already counting since driver load."""
    gpu = FakeAmdGpu(
        "AMD Instinct MI300X",
        f"{i:02x}ff74a1-0000-1000-80ff-ffffffff{i:04x}",
        f"0000:{0x10 + i:02x}:00.0",
        energy_counts=4_000_000_000 + i,
        current_socket_power_w=420,
        average_socket_power_w="N/A",
    )
    for name, value in fields.items():
        setattr(gpu, name, value)
    return gpu

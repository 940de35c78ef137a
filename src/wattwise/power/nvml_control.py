"""Changing NVIDIA GPU settings through nvidia-ml-py: power limit, locked SM clocks.

This is the only module that changes a GPU's settings; the readers only measure. The ``pynvml``
module is injectable (``nvml=``): the simulated GPU (:mod:`wattwise.power.simulator`) and the
tests' fake pass their own; the real one is imported only when none is given.

Safety rules, in this order, before any change:

1. **Privilege.** Setting a power limit or locked clocks needs root or ``CAP_SYS_ADMIN`` (NVML
   answers ``NVML_ERROR_NO_PERMISSION`` otherwise). :func:`has_admin_privilege` checks the
   effective user id and bit 21 of ``CapEff`` in ``/proc/self/status`` first, so a user without
   it gets :data:`PRIVILEGE_LINE` before anything is attempted.
2. **Constraints.** A limit outside ``nvmlDeviceGetPowerManagementLimitConstraints`` or a clock
   that is not in ``nvmlDeviceGetSupportedGraphicsClocks`` is refused here
   (:class:`PowerControlError`, exit code 2 in the CLI), never sent to the driver.
3. **Record first.** Callers record the original settings with :mod:`wattwise.power.state`
   before the first change (this module does not change anything on its own).
4. **Only the job's GPUs.** ``select=`` (NVML indices or GPU UUIDs / unique prefixes, as
   ``CUDA_VISIBLE_DEVICES`` takes them; :func:`job_selection` reads it) limits the control to
   those GPUs: a shared node's other GPUs are never touched. A MIG instance is refused: a power
   limit is the physical GPU's, shared with the other instances' tenants.

Units: NVML speaks milliwatts and MHz; this module converts at the boundary, and every name
says its unit (``limit_w``, ``clock_mhz``). Vendor errors are translated in one place,
:func:`translate_control_error`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError, ReaderError, WattwiseError

#: The one line a user without the privilege sees.
PRIVILEGE_LINE = (
    "changing GPU power limits or clocks needs root or CAP_SYS_ADMIN: run as root (sudo), or "
    "grant the capability (setcap cap_sys_admin+ep, or a container with --cap-add SYS_ADMIN); "
    "'wattwise tune --dry-run' needs neither"
)
CAP_SYS_ADMIN_BIT = 21
_NO_PERMISSION, _NOT_SUPPORTED, _INVALID_ARGUMENT, _FUNCTION_NOT_FOUND = 4, 3, 2, 13


class PowerControlError(ConfigError):
    """A GPU setting that cannot or must not be applied (exit code 2 in the CLI)."""


class PrivilegeError(PowerControlError):
    """The process lacks root / ``CAP_SYS_ADMIN``; the message is :data:`PRIVILEGE_LINE`."""


def has_admin_privilege(
    status_path: Path = Path("/proc/self/status"), euid: int | None = None
) -> bool:
    """True for root or a process whose effective capabilities include ``CAP_SYS_ADMIN``
    (``euid``: the effective user id to judge, default this process's)."""
    uid = euid if euid is not None else (os.geteuid() if hasattr(os, "geteuid") else -1)
    if uid == 0:
        return True
    try:
        text = status_path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("CapEff:"):
            try:
                return bool(int(line.split(":", 1)[1].strip(), 16) >> CAP_SYS_ADMIN_BIT & 1)
            except ValueError:
                return False
    return False


@dataclass(frozen=True)
class GpuSettings:
    """What one GPU allows and is set to (watts, MHz)."""

    index: int
    uuid: str
    name: str
    power_limit_w: float
    default_limit_w: float
    min_limit_w: float
    max_limit_w: float
    sm_clocks_mhz: tuple[float, ...]  # supported SM clocks at the current memory clock, high first
    persistence: bool | None

    def describe(self) -> str:
        return f"GPU {self.index} ({self.name})"


def translate_control_error(nvml: Any, exc: BaseException, doing: str, gpu: str) -> WattwiseError:
    """The one place an NVML failure becomes a wattwise error (``gpu``: "GPU 0 (NAME)")."""
    from wattwise.readers.nvml import translate_nvml_error

    error_cls = getattr(nvml, "NVMLError", None)
    value = getattr(exc, "value", None)
    if isinstance(error_cls, type) and isinstance(exc, error_cls):
        if value == getattr(nvml, "NVML_ERROR_NO_PERMISSION", _NO_PERMISSION):
            return PrivilegeError(PRIVILEGE_LINE)
        if value in (
            getattr(nvml, "NVML_ERROR_NOT_SUPPORTED", _NOT_SUPPORTED),
            getattr(nvml, "NVML_ERROR_FUNCTION_NOT_FOUND", _FUNCTION_NOT_FOUND),
        ):
            return PowerControlError(f"{doing}: not supported by {gpu} or its driver")
        if value == getattr(nvml, "NVML_ERROR_INVALID_ARGUMENT", _INVALID_ARGUMENT):
            return PowerControlError(f"{doing}: {gpu} refused the value (invalid argument)")
    return translate_nvml_error(nvml, exc, f"{doing} on {gpu}")


def _import_pynvml() -> Any:
    from wattwise.readers.nvml import _import_pynvml as import_real

    return import_real()


class NvmlControl:
    """Read and change the settings of the GPUs NVML sees; use as a context manager."""

    def __init__(
        self,
        nvml: Any | None = None,
        *,
        privileged: Callable[[], bool] = has_admin_privilege,
        simulated: bool = False,
        select: Sequence[str] | None = None,
    ) -> None:
        self._nvml = nvml
        self._privileged = privileged
        self.simulated = simulated
        self.select = list(select) if select is not None else None
        self._handles: list[Any] = []
        self._names: list[str] = []
        self._indices: list[int] = []  # NVML's index of each GPU controlled, in order
        self._uuids: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> NvmlControl:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def nvml(self) -> Any:
        if self._nvml is None:
            self._nvml = _import_pynvml()
        return self._nvml

    def open(self) -> None:
        self._call("nvmlInit", doing="initialising NVML", gpu="the GPUs")
        count = int(self._call("nvmlDeviceGetCount", doing="counting GPUs", gpu="the GPUs"))
        found = []
        for i in range(count):
            h = self._call("nvmlDeviceGetHandleByIndex", i, doing="opening", gpu=f"GPU {i}")
            name = _text(self._call("nvmlDeviceGetName", h, doing="naming", gpu=f"GPU {i}"))
            uuid = _text(self._call("nvmlDeviceGetUUID", h, doing="reading the UUID", gpu=name))
            found.append((i, h, name, uuid))
        if self.select is not None:
            found = _selected(found, self.select)
        self._indices = [f[0] for f in found]
        self._handles = [f[1] for f in found]
        self._names = [f[2] for f in found]
        self._uuids = [f[3] for f in found]

    def close(self) -> None:
        # Nothing to do about a failed shutdown; the settings are what matter.
        with contextlib.suppress(WattwiseError):
            self._call("nvmlShutdown", doing="shutting NVML down", gpu="the GPUs")

    @property
    def count(self) -> int:
        return len(self._handles)

    def gpu(self, index: int) -> str:
        """How GPU ``index`` (a position among the controlled GPUs) is named: NVML's index."""
        return f"GPU {self._indices[index]} ({self._names[index]})"

    def position(self, uuid: str | None, nvml_index: int) -> int | None:
        """The position of the GPU with ``uuid`` (else NVML index ``nvml_index``) among the
        controlled GPUs; None when it is not one of them."""
        if uuid and uuid in self._uuids:
            return self._uuids.index(uuid)
        if not uuid and nvml_index in self._indices:
            return self._indices.index(nvml_index)
        return None

    # -- reading -------------------------------------------------------------------------------
    def settings(self, index: int) -> GpuSettings:
        h = self._handles[index]
        lo_mw, hi_mw = self._on(
            index,
            "nvmlDeviceGetPowerManagementLimitConstraints",
            h,
            doing="reading the power limit constraints",
        )
        limit_mw = self._on(
            index, "nvmlDeviceGetPowerManagementLimit", h, doing="reading the power limit"
        )
        default_mw = self._on(
            index,
            "nvmlDeviceGetPowerManagementDefaultLimit",
            h,
            doing="reading the default power limit",
        )
        return GpuSettings(
            index=self._indices[index],
            uuid=self._uuids[index],
            name=self._names[index],
            power_limit_w=int(limit_mw) / 1000.0,
            default_limit_w=int(default_mw) / 1000.0,
            min_limit_w=int(lo_mw) / 1000.0,
            max_limit_w=int(hi_mw) / 1000.0,
            sm_clocks_mhz=self._sm_clocks(index),
            persistence=self._persistence(index),
        )

    def _sm_clocks(self, index: int) -> tuple[float, ...]:
        h = self._handles[index]
        try:
            mem = self._on(
                index, "nvmlDeviceGetSupportedMemoryClocks", h, doing="reading the memory clocks"
            )
            clocks = self._on(
                index,
                "nvmlDeviceGetSupportedGraphicsClocks",
                h,
                int(max(mem)),
                doing="reading the SM clocks",
            )
        except (PowerControlError, ReaderError):
            return ()
        return tuple(sorted((float(c) for c in clocks), reverse=True))

    def _persistence(self, index: int) -> bool | None:
        try:
            mode = self._on(
                index,
                "nvmlDeviceGetPersistenceMode",
                self._handles[index],
                doing="reading persistence mode",
            )
        except (PowerControlError, ReaderError):
            return None
        return bool(mode)

    def energy_j(self, index: int) -> float:
        """The GPU's energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ) in joules."""
        mj = self._on(
            index,
            "nvmlDeviceGetTotalEnergyConsumption",
            self._handles[index],
            doing="reading the energy counter",
        )
        return int(mj) / 1000.0

    def utilization(self, index: int) -> tuple[float, float]:
        """(kernel-busy %, memory-busy %) from ``nvmlDeviceGetUtilizationRates``."""
        u = self._on(
            index,
            "nvmlDeviceGetUtilizationRates",
            self._handles[index],
            doing="reading utilisation",
        )
        return float(u.gpu), float(u.memory)

    # -- changing ------------------------------------------------------------------------------
    def check_privilege(self) -> None:
        """Raise :class:`PrivilegeError` unless this process may change GPU settings."""
        if not self.simulated and not self._privileged():
            raise PrivilegeError(PRIVILEGE_LINE)

    def set_power_limit(self, index: int, limit_w: float) -> None:
        """Set GPU ``index``'s power limit; refused outside its constraints."""
        self.check_privilege()
        s = self.settings(index)
        if not s.min_limit_w <= limit_w <= s.max_limit_w:
            raise PowerControlError(
                f"power limit {limit_w:g} W is outside what {self.gpu(index)} allows "
                f"({s.min_limit_w:g}-{s.max_limit_w:g} W)"
            )
        self._on(
            index,
            "nvmlDeviceSetPowerManagementLimit",
            self._handles[index],
            round(limit_w * 1000),
            doing=f"setting the power limit to {limit_w:g} W",
        )

    def lock_sm_clock(self, index: int, clock_mhz: float) -> None:
        """Lock GPU ``index``'s SM clock to at most ``clock_mhz`` (one of its supported clocks)."""
        self.check_privilege()
        clocks = self._sm_clocks(index)
        if clocks and clock_mhz not in clocks:
            raise PowerControlError(
                f"SM clock {clock_mhz:g} MHz is not one {self.gpu(index)} supports "
                f"({clocks[-1]:g}-{clocks[0]:g} MHz)"
            )
        low = int(clocks[-1]) if clocks else int(clock_mhz)
        self._on(
            index,
            "nvmlDeviceSetGpuLockedClocks",
            self._handles[index],
            low,
            int(clock_mhz),
            doing=f"locking the SM clock at {clock_mhz:g} MHz",
        )

    def reset_sm_clock(self, index: int) -> None:
        self.check_privilege()
        self._on(
            index,
            "nvmlDeviceResetGpuLockedClocks",
            self._handles[index],
            doing="resetting the locked SM clocks",
        )

    # -- the one call path ---------------------------------------------------------------------
    def _on(self, index: int, fn_name: str, *args: Any, doing: str) -> Any:
        return self._call(fn_name, *args, doing=doing, gpu=self.gpu(index))

    def _call(self, fn_name: str, *args: Any, doing: str, gpu: str) -> Any:
        nvml = self.nvml
        fn = getattr(nvml, fn_name, None)
        if fn is None:
            raise PowerControlError(f"{doing}: this nvidia-ml-py has no {fn_name}; upgrade it")
        try:
            return fn(*args)
        except Exception as exc:
            raise translate_control_error(nvml, exc, doing, gpu) from exc


def job_selection(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The GPUs a job may tune: ``CUDA_VISIBLE_DEVICES``'s entries (None: unset, every GPU).

    Indices are NVML's (PCI bus order): set ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or give UUIDs for
    CUDA to number the GPUs the same way."""
    from wattwise.readers.nvml import visible_device_tokens

    env = os.environ if environ is None else environ
    value = env.get("CUDA_VISIBLE_DEVICES")
    return None if value is None else visible_device_tokens(value)


def _selected(found: list[tuple[int, Any, str, str]], tokens: Sequence[str]) -> list[Any]:
    """The entries of ``found`` (index, handle, name, uuid) that ``tokens`` name, in order."""
    available = "; ".join(f"{i}: {name} ({uuid})" for i, _h, name, uuid in found) or "none"
    chosen: list[Any] = []
    for token in tokens:
        if token.upper().startswith("MIG-"):
            raise PowerControlError(
                f"{token!r} is a MIG instance: its power limit is the whole GPU's, shared with "
                "the other instances, so wattwise does not tune it"
            )
        if token.isdigit():
            hits = [f for f in found if f[0] == int(token)]
        else:
            hits = [f for f in found if f[3].lower().startswith(token.lower())]
        if len(hits) != 1:
            why = "matches several GPUs" if hits else "is not a visible NVIDIA GPU"
            raise PowerControlError(f"GPU {token!r} {why}. Available: {available}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

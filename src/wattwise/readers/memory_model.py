"""Memory (DRAM) power estimate for machines with no RAPL ``dram`` domain.

Provenance: ``estimated``; the model and its parameters are in :attr:`DeviceInfo.params`.

The model (``memory-module-linear``) is per module, not per gigabyte::

    P = modules * (IDLE_POWER_PER_MODULE_W
                   + (ACTIVE_POWER_PER_MODULE_W - IDLE_POWER_PER_MODULE_W) * activity)   [W]

DRAM power grows with the number of modules (each has its own chips, refresh, register and
termination), far less with capacity: a 64 GiB RDIMM does not draw eight times what an 8 GiB one
does. A per-GB figure (CodeCarbon's 0.375 W/GB) gives ~580 W for a 1.5 TiB node; this model
gives tens of watts (24 modules: 36 W idle, 96 W fully active).

Per-module figures, DDR4/DDR5 server RDIMMs:

* ``ACTIVE_POWER_PER_MODULE_W = 4.0``. Tom's Hardware measured 2.98 W for one 8 GB DDR4-2133
  module under load (11.85 W for four; "Measuring DDR4 Power Consumption", Core i7-5960X review,
  2014-08-29). Registered server modules of 32-64 GB carry more chips and a register/PMIC;
  vendor guides put DDR4 RDIMMs at roughly 1.5-3.5 W and more for higher capacities
  (icdirectory.com, "What is the power consumption of RDIMM"). 4 W is the upper end of those.
* ``IDLE_POWER_PER_MODULE_W = 1.5``: active standby and refresh, the low end of the same range
  (DRAM idle power is typically a third to a half of its loaded power; Micron TN-40-07,
  "Calculating Memory Power for DDR4 SDRAM", gives the IDD-based method).

``activity`` (0..1): DRAM traffic cannot be read without hardware counters, so by default the
machine's CPU utilisation over the interval (``/proc/stat``) is the proxy: memory is busy when
the cores are. A fixed ``activity`` can be passed instead; both are reported.

Module count, best source first (``module_source`` in the params):

1. ``edac``: ``<sys_root>/devices/system/edac/mc/mc*/dimm*/size`` (MiB), one entry per
   populated DIMM where an EDAC driver is loaded (bare-metal servers with ECC). Readable
   without root. ``dmidecode`` would also know, but needs root, so it is not used.
2. ``estimate``: ``MemTotal`` from ``<proc_root>/meminfo`` divided by a typical module size,
   rounded up, at least 1: 32 GiB modules up to 512 GiB of RAM, 64 GiB modules above (large
   nodes are populated with large modules: 1.5 TiB in 32 GiB modules would need 48 slots).
   In a VM (``hypervisor`` CPU flag) the RAM seen is the guest's share, and the count is the
   modules that share would fill, rounded up: a 24 GiB guest counts as one module.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Provenance, Reading
from wattwise.readers.procfs import CpuTimes, read_cpu_times, read_cpuinfo, utilisation_between

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

#: Power of one loaded DDR4/DDR5 RDIMM, watts (sources in the module docstring).
ACTIVE_POWER_PER_MODULE_W = 4.0
#: Power of one idle DDR4/DDR5 RDIMM (active standby + refresh), watts.
IDLE_POWER_PER_MODULE_W = 1.5
#: Module size assumed when the count must be estimated from the RAM size, GiB.
TYPICAL_MODULE_GIB = 32.0
#: Module size assumed on nodes with more than LARGE_NODE_THRESHOLD_GIB of RAM, GiB.
LARGE_NODE_MODULE_GIB = 64.0
LARGE_NODE_THRESHOLD_GIB = 512.0

MODEL_NAME = "memory-module-linear"
MODEL_FORMULA = "P = modules * (P_idle + (P_active - P_idle) * activity)"
DEVICE_ID = "memory-model:machine"

_KIB_PER_GIB = 1024 * 1024
_MIB_PER_GIB = 1024


class ModuleCount(NamedTuple):
    """How many memory modules the model charges for, and how that was found.

    A NamedTuple (immutable, compared by value), not a frozen dataclass: creating one costs
    ~1 ms, inside every process's first ``Tracker.start()``.
    """

    modules: int
    source: str  # "edac" or "estimate"
    detail: str
    total_gib: float | None


def read_mem_total_gib(proc_root: str | os.PathLike[str] = "/proc") -> float | None:
    """``MemTotal`` of ``<proc_root>/meminfo`` in GiB, or None when unreadable.

    Quirk: MemTotal is a little below the installed RAM (the kernel and firmware keep some),
    e.g. ~15.6 GiB on a 16 GiB machine; rounding the module count up absorbs that.
    """
    try:
        with open(os.path.join(proc_root, "meminfo"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            try:
                return int(parts[1]) / _KIB_PER_GIB  # the value is in kB (KiB)
            except (IndexError, ValueError):
                return None
    return None


def count_edac_dimms(sys_root: str | os.PathLike[str] = "/sys") -> tuple[int, float] | None:
    """(populated DIMMs, their total GiB) from the EDAC sysfs tree, or None when absent."""
    count = 0
    total_mib = 0
    for size_file in _edac_size_files(os.path.join(sys_root, "devices", "system", "edac", "mc")):
        try:
            with open(size_file, encoding="utf-8", errors="replace") as f:
                size_mib = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if size_mib > 0:  # empty slots are listed with size 0 on some drivers
            count += 1
            total_mib += size_mib
    return (count, total_mib / _MIB_PER_GIB) if count else None


def _edac_size_files(mc_root: str) -> list[str]:
    """``<mc_root>/mc*/dimm*/size`` (what ``glob`` would list; without importing it)."""
    out: list[str] = []
    for mc in _subdirs(mc_root, "mc"):
        out.extend(os.path.join(d, "size") for d in _subdirs(mc, "dimm"))
    return sorted(out)


def _subdirs(root: str, prefix: str) -> list[str]:
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return [os.path.join(root, n) for n in names if n.startswith(prefix)]


def estimate_modules(total_gib: float, *, vm: bool = False) -> ModuleCount:
    """Modules for ``total_gib`` of RAM: ceil(total / typical module size), at least 1."""
    size_gib = LARGE_NODE_MODULE_GIB if total_gib > LARGE_NODE_THRESHOLD_GIB else TYPICAL_MODULE_GIB
    modules = max(1, math.ceil(total_gib / size_gib))
    detail = f"ceil({total_gib:.1f} GiB / {size_gib:g} GiB per module) = {modules}"
    if vm:
        detail += "; VM: the guest's RAM, counted as the host modules it would fill (rounded up)"
    return ModuleCount(modules, "estimate", detail, total_gib)


def count_memory_modules(
    proc_root: str | os.PathLike[str] = "/proc", sys_root: str | os.PathLike[str] = "/sys"
) -> ModuleCount:
    """Count modules from EDAC where it is present, else estimate from ``MemTotal``.

    Raises :class:`ReaderUnavailable` when neither can be read.
    """
    edac = count_edac_dimms(sys_root)
    if edac is not None:
        n, gib = edac
        return ModuleCount(n, "edac", f"{n} populated DIMMs in EDAC ({gib:.0f} GiB)", gib)
    total_gib = read_mem_total_gib(proc_root)
    if total_gib is None:
        raise ReaderUnavailable(
            f"memory-model: neither EDAC DIMMs under {sys_root} nor MemTotal in "
            f"{os.path.join(proc_root, 'meminfo')} could be read"
        )
    return estimate_modules(total_gib, vm=read_cpuinfo(proc_root).hypervisor)


class MemoryPowerModel:
    """``P(a) = modules * (idle + (active - idle) * a)`` in watts, ``a`` the activity 0..1.

    Not changed once built. A plain class, not a frozen dataclass (~1 ms to create, inside
    every process's first ``Tracker.start()``) nor a NamedTuple (``count`` is a tuple method).
    """

    __slots__ = ("active_power_per_module_w", "count", "idle_power_per_module_w")

    def __init__(
        self,
        count: ModuleCount,
        idle_power_per_module_w: float = IDLE_POWER_PER_MODULE_W,
        active_power_per_module_w: float = ACTIVE_POWER_PER_MODULE_W,
    ) -> None:
        self.count = count
        self.idle_power_per_module_w = idle_power_per_module_w
        self.active_power_per_module_w = active_power_per_module_w

    def __repr__(self) -> str:
        return (
            f"MemoryPowerModel(count={self.count!r}, idle_power_per_module_w="
            f"{self.idle_power_per_module_w!r}, active_power_per_module_w="
            f"{self.active_power_per_module_w!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryPowerModel):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[ModuleCount, float, float]:
        return (self.count, self.idle_power_per_module_w, self.active_power_per_module_w)

    @property
    def idle_power_w(self) -> float:
        """Machine memory power at activity 0, watts."""
        return self.count.modules * self.idle_power_per_module_w

    @property
    def max_power_w(self) -> float:
        """Machine memory power at activity 1, watts."""
        return self.count.modules * self.active_power_per_module_w

    def power_w(self, activity: float) -> float:
        """Model power in watts at ``activity`` (clamped to 0..1)."""
        a = min(1.0, max(0.0, activity))
        return self.idle_power_w + (self.max_power_w - self.idle_power_w) * a


class MemoryModelReader:
    """Memory power estimate as a cumulative energy counter (``energy_j``, estimated).

    ``proc_root`` / ``sys_root`` locate ``meminfo``, ``cpuinfo``, ``stat`` and the EDAC tree;
    ``clock`` returns monotonic seconds; ``activity`` fixes the activity (0..1) instead of using
    the machine's CPU utilisation as the proxy. The first :meth:`read` returns 0 J; each later
    one adds ``P(activity) * dt`` for the interval since the previous read.
    """

    name = "memory-model"

    def __init__(
        self,
        proc_root: str | os.PathLike[str] = "/proc",
        sys_root: str | os.PathLike[str] = "/sys",
        *,
        clock: Callable[[], float] = time.monotonic,
        activity: float | None = None,
    ) -> None:
        if activity is not None and not 0.0 <= activity <= 1.0:
            raise ValueError(f"activity must be within 0..1, got {activity}")
        self.proc_root = os.fspath(proc_root)
        self.sys_root = os.fspath(sys_root)
        self._clock = clock
        self._activity = activity
        self._model: MemoryPowerModel | None = None
        self._device: DeviceInfo | None = None
        self._last_t: float | None = None
        self._last_times: CpuTimes | None = None
        self._last_activity = activity if activity is not None else 0.0
        self._energy_j = 0.0

    @property
    def model(self) -> MemoryPowerModel:
        """The power model (module count read on first use). May raise ReaderUnavailable."""
        if self._model is None:
            self._model = MemoryPowerModel(count_memory_modules(self.proc_root, self.sys_root))
        return self._model

    def _device_info(self) -> DeviceInfo:
        m = self.model
        activity_source = (
            f"fixed {self._activity:g}"
            if self._activity is not None
            else "machine CPU utilisation from /proc/stat (proxy)"
        )
        params = {
            "model": MODEL_NAME,
            "formula": MODEL_FORMULA,
            "modules": str(m.count.modules),
            "module_source": m.count.source,
            "module_detail": m.count.detail,
            "total_gib": f"{m.count.total_gib:.1f}" if m.count.total_gib is not None else "unknown",
            "idle_power_per_module_w": f"{m.idle_power_per_module_w:g}",
            "active_power_per_module_w": f"{m.active_power_per_module_w:g}",
            "idle_power_w": f"{m.idle_power_w:g}",
            "max_power_w": f"{m.max_power_w:g}",
            "activity_source": activity_source,
        }
        return DeviceInfo(
            device_id=DEVICE_ID,
            kind="memory",
            name=f"Memory estimate ({m.count.modules} module(s))",
            provenance=Provenance.ESTIMATED,
            source=f"model:{MODEL_NAME}",
            params=params,
        )

    def probe(self) -> ProbeResult:
        """Never raises: available where the module count and (if used) /proc/stat are readable."""
        from wattwise.readers.probe import ProbeResult  # not created at start-up: see there

        try:
            if self._activity is None:
                read_cpu_times(self.proc_root)
            device = self._device_info()
        except Exception as exc:  # probe() must never raise
            return ProbeResult(self.name, False, f"memory estimate unavailable: {exc}")
        p = device.params
        reason = (
            f"estimate: {p['modules']} module(s) ({p['module_source']}), "
            f"{p['idle_power_w']}-{p['max_power_w']} W"
        )
        return ProbeResult(self.name, True, reason, (device,), dict(p))

    def open(self) -> list[DeviceInfo]:
        """Count the modules and return the single device. Raises ReaderUnavailable.

        On an open reader, returns the same device.
        """
        if self._device is not None:
            return [self._device]
        if self._activity is None:
            try:
                read_cpu_times(self.proc_root)
            except ReaderError as exc:
                raise ReaderUnavailable(f"memory-model: {exc}") from exc
        self._device = self._device_info()
        return [self._device]

    def read(self) -> list[Reading]:
        """Cumulative model energy since the first read, joules. Raises :class:`ReaderError`."""
        if self._device is None:
            raise ReaderError("memory-model: read() before open()")
        now = self._clock()
        times = read_cpu_times(self.proc_root) if self._activity is None else None
        if self._last_t is not None:
            dt = max(0.0, now - self._last_t)
            activity = self._activity
            if activity is None and times is not None and self._last_times is not None:
                u = utilisation_between(self._last_times, times)
                activity = self._last_activity if u is None else u
            if activity is None:
                activity = self._last_activity
            self._last_activity = activity
            self._energy_j += self.model.power_w(activity) * dt
        self._last_t = now
        self._last_times = times
        return [Reading(DEVICE_ID, now, energy_j=self._energy_j)]

    def close(self) -> None:
        """Nothing to release; a later :meth:`open` starts afresh. Never raises."""
        self._device = None
        self._last_t, self._last_times, self._energy_j = None, None, 0.0


__all__ = [
    "ACTIVE_POWER_PER_MODULE_W",
    "DEVICE_ID",
    "IDLE_POWER_PER_MODULE_W",
    "MemoryModelReader",
    "MemoryPowerModel",
    "ModuleCount",
    "count_edac_dimms",
    "count_memory_modules",
    "estimate_modules",
    "read_mem_total_gib",
]

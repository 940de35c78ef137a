"""Machine CPU facts and time from ``/proc`` (``cpuinfo``, ``stat``), rooted at a parameter.

Shared by the CPU and memory power models (:mod:`wattwise.readers.cpu_model`,
:mod:`wattwise.readers.memory_model`); ``proc_root`` lets tests use a directory tree.
Plain ``os`` paths (no pathlib, ~4 ms of import): these run inside ``Tracker.start()``. The
records are NamedTuples (immutable, compared by value) rather than frozen
dataclasses, which cost ~1 ms each to create at every process's first start.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from wattwise.errors import ReaderError


class CpuInfo(NamedTuple):
    """What ``/proc/cpuinfo`` says about the machine's CPUs."""

    model_name: str
    vcpus: int  # logical CPUs the kernel shows ("processor" entries)
    sockets: int  # distinct "physical id" values (1 when absent)
    hypervisor: bool  # the "hypervisor" CPU flag: running as a guest, topology is virtual


def read_cpuinfo(proc_root: str | os.PathLike[str] = "/proc") -> CpuInfo:
    """Parse ``<proc_root>/cpuinfo``; falls back to :func:`fallback_cpu_name` / ``os.cpu_count()``.

    Quirk: on arm64 there is no ``model name`` line (only ``CPU part``); the name then is the
    machine type (``aarch64``), unknown to the table.

    Reads of the real ``/proc/cpuinfo`` within :data:`_SHARED_CPUINFO_MAX_AGE_S` share one read
    (the CPU and memory models both need it when a tracker starts; on a many-core machine the
    file is hundreds of kilobytes).
    """
    global _shared_cpuinfo
    real = os.fspath(proc_root) == "/proc"
    if real and _shared_cpuinfo is not None:
        at, shared = _shared_cpuinfo
        if time.monotonic() - at < _SHARED_CPUINFO_MAX_AGE_S:
            return shared
    info = _parse_cpuinfo(proc_root)
    if real:
        _shared_cpuinfo = (time.monotonic(), info)
    return info


#: Reads of the real /proc/cpuinfo within this many seconds share one read (one tracker start).
_SHARED_CPUINFO_MAX_AGE_S = 1.0
_shared_cpuinfo: tuple[float, CpuInfo] | None = None


def _parse_cpuinfo(proc_root: str | os.PathLike[str]) -> CpuInfo:
    model_name = ""
    vcpus = 0
    physical_ids: set[str] = set()
    hypervisor = False
    try:
        with open(os.path.join(proc_root, "cpuinfo"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            vcpus += 1
        elif key == "model name" and not model_name:
            model_name = value
        elif key == "physical id":
            physical_ids.add(value)
        elif key == "flags" and "hypervisor" in value.split():
            hypervisor = True
    if not model_name:
        model_name = fallback_cpu_name()
    if vcpus == 0:
        vcpus = os.cpu_count() or 1
    return CpuInfo(model_name, vcpus, max(1, len(physical_ids)), hypervisor)


def fallback_cpu_name() -> str:
    """A CPU name where ``/proc/cpuinfo`` gives none: the machine type (``os.uname().machine``).

    Not ``platform.processor()``: on Linux and macOS it forks ``uname -p`` (a subprocess on
    the caller's thread inside ``Tracker.start()``), which prints ``unknown`` or the machine
    type anyway. On Windows, which has no ``os.uname``, ``platform.processor()`` reads the
    environment.
    """
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.processor()


class CpuTimes(NamedTuple):
    """Machine-wide CPU time from the ``cpu`` line of ``/proc/stat``, in clock ticks."""

    busy_ticks: int
    total_ticks: int


#: Reads of the real /proc/stat within this many seconds share one read: the CPU and memory
#: models both need it at every sample, and on a VM each cold read of /proc costs ~0.3 ms.
_SHARED_READ_MAX_AGE_S = 0.005
_shared_read: tuple[float, CpuTimes] | None = None


def read_cpu_times(proc_root: str | os.PathLike[str] = "/proc") -> CpuTimes:
    """Read the aggregate ``cpu`` line of ``<proc_root>/stat``. Raises :class:`ReaderError`.

    Fields: user nice system idle iowait irq softirq steal guest guest_nice (kernel docs,
    Documentation/filesystems/proc.rst). Busy = user + nice + system + irq + softirq. ``guest``
    and ``guest_nice`` are already included in user and nice, so they are not added again.
    ``steal`` (time the hypervisor gave our vCPU to someone else) counts in the total but not as
    busy: our work drew no power then.
    """
    global _shared_read
    real = os.fspath(proc_root) == "/proc"
    if real and _shared_read is not None:
        at, times = _shared_read
        if time.monotonic() - at < _SHARED_READ_MAX_AGE_S:
            return times
    path = os.path.join(os.fspath(proc_root), "stat")
    try:
        # The aggregate line comes first; one small unbuffered read avoids reading every CPU.
        with open(path, "rb", buffering=0) as f:
            head = f.read(1024).decode("ascii", errors="replace")
        line = next((ln for ln in head.splitlines() if ln.startswith("cpu ")), None)
        if line is None:
            raise ReaderError(f"{path}: no aggregate 'cpu' line")
        fields = [int(x) for x in line.split()[1:]]
    except (OSError, ValueError) as exc:
        raise ReaderError(f"cannot read {path}: {exc}") from exc
    fields += [0] * (8 - len(fields))
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    busy = user + nice + system + irq + softirq
    times = CpuTimes(busy, busy + idle + iowait + steal)
    if real:
        _shared_read = (time.monotonic(), times)
    return times


def utilisation_between(before: CpuTimes, after: CpuTimes) -> float | None:
    """Average machine utilisation (0..1) between two reads; None when no tick elapsed."""
    d_total = after.total_ticks - before.total_ticks
    if d_total <= 0:
        return None
    d_busy = after.busy_ticks - before.busy_ticks
    return min(1.0, max(0.0, d_busy / d_total))

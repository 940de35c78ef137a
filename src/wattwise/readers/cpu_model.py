"""CPU power estimate for machines where no energy counter can be read (no RAPL, e.g. most VMs).

Provenance: ``estimated``. The model, its inputs and its parameters are all reported in
:attr:`DeviceInfo.params`, so a number from here is never mistaken for a measurement.

The model (``cpu-tdp-linear``)::

    P(u) = P_idle + (P_max - P_idle) * u          [W]
    P_max = TDP share of the vCPUs this machine has
    P_idle = IDLE_FRACTION * P_max

``u`` is the machine-wide CPU utilisation (0..1) from ``/proc/stat``: the share of the interval
the machine's logical CPUs spent running work (user, nice, system, irq, softirq) rather than idle,
waiting for I/O or stolen by the hypervisor. Because ``P`` is linear in ``u`` and ``u`` is the
exact average over the interval between two reads, ``P(u) * dt`` is the exact model energy of
the interval (no sampling error beyond the kernel's tick granularity, 10 ms per CPU at
``USER_HZ`` = 100).

Where the TDP comes from (``tdp_source`` in the params):

* ``table: <model>``: the CPU's ``model name`` (``/proc/cpuinfo``, else the machine type)
  matched in the shipped table ``data/cpu_tdp.csv`` (CodeCarbon's TDP list, MIT; per-socket
  thread counts from SPECpower_ssj2008 results via Cloud Carbon Footprint, Apache-2.0). A match
  is exact after normalisation, or fuzzy only when the model-number tokens agree (``"AMD EPYC"``
  alone, as KVM guests often report, matches nothing).
* ``default per-vCPU``: no match. ``P_max = vcpus * DEFAULT_TDP_PER_VCPU_W``.

Scaling to the vCPUs the machine has (a TDP is for a whole socket): with the model's threads per
socket known, ``P_max = TDP * vcpus / threads_per_socket``; without it, on bare metal
``P_max = TDP * sockets seen``; in a VM (``hypervisor`` CPU flag) the sockets seen are virtual,
so ``P_max = min(TDP, vcpus * DEFAULT_TDP_PER_VCPU_W)``: a 2-vCPU guest is not given a 240 W
socket.

Attribution to a process tree: with ``pid`` set, the reader also follows that process and its
descendants (psutil) and exposes :meth:`CpuModelReader.process_share` (the tree's fraction of the
machine's busy CPU time in the last interval) and :meth:`CpuModelReader.process_energy_j` (the
machine estimate times that share, accumulated). The device itself always reports the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Provenance, Reading
from wattwise.readers.cpu_tdp import (
    CpuMatch,
    CpuTdpEntry,
    load_cpu_tdp_table,
    match_cpu_model,
    normalise_cpu_name,
)
from wattwise.readers.procfs import (
    CpuInfo,
    CpuTimes,
    read_cpu_times,
    read_cpuinfo,
    utilisation_between,
)

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

#: Idle power as a fraction of full-load power. Median of ``avg. watts @ active idle`` /
#: ``avg. watts @ 100%`` over the 579 SPECpower_ssj2008 results published 2018 or later
#: (quartiles 0.17 / 0.21 / 0.27), from the copy of the SPECpower table shipped by Cloud Carbon
#: Footprint (ccf-coefficients, Apache-2.0). CCF's own per-vCPU constants agree:
#: 0.74 W min / 3.5 W max = 0.21. It is a whole-server ratio, used as a proxy for the CPU.
IDLE_FRACTION = 0.21

#: TDP per logical CPU (hardware thread) when the CPU model is unknown, in watts: the median of
#: TDP / threads-per-socket over the 181 rows of ``data/cpu_tdp.csv`` whose thread count is
#: known (server parts tested in SPECpower; quartiles 3.1 / 4.7 / 8.1 W; the test
#: ``test_default_tdp_per_vcpu_is_the_table_median`` recomputes it). CodeCarbon silently uses a
#: fixed 4 W per thread; wattwise uses a median of real parts and says so in ``tdp_source``.
DEFAULT_TDP_PER_VCPU_W = 4.7

#: Name of the power model, reported in the device params.
MODEL_NAME = "cpu-tdp-linear"
MODEL_FORMULA = "P = P_idle + (P_max - P_idle) * u"

# ---------------------------------------------------------------------------------------------
# The power model (pure)
# ---------------------------------------------------------------------------------------------


class CpuPowerModel(NamedTuple):
    """The machine's CPU power model: ``P(u) = idle_power_w + (max_power_w - idle_power_w) * u``.

    A NamedTuple (immutable, compared by value), not a frozen dataclass: creating one costs
    ~1 ms, inside every process's first ``Tracker.start()``.
    """

    model_name_seen: str
    match: CpuMatch | None
    tdp_w: float  # the socket TDP from the table, or vcpus * default when unknown
    tdp_source: str
    vcpus: int
    max_power_w: float
    idle_power_w: float
    scaling: str

    def power_w(self, utilisation: float) -> float:
        """Model power in watts at machine utilisation ``utilisation`` (clamped to 0..1)."""
        u = min(1.0, max(0.0, utilisation))
        return self.idle_power_w + (self.max_power_w - self.idle_power_w) * u

    def params(self) -> dict[str, str]:
        """The model and its parameters, for :attr:`DeviceInfo.params`."""
        entry = self.match.entry if self.match else None
        return {
            "model": MODEL_NAME,
            "formula": MODEL_FORMULA,
            "model_name_seen": self.model_name_seen or "(none)",
            "matched_model": entry.model if entry else "none",
            "match": f"{self.match.method} ({self.match.score:g})" if self.match else "none",
            "tdp_w": f"{self.tdp_w:g}",
            "tdp_source": self.tdp_source,
            "threads_per_socket": (
                str(entry.threads_per_socket) if entry and entry.threads_per_socket else "unknown"
            ),
            "vcpus": str(self.vcpus),
            "scaling": self.scaling,
            "max_power_w": f"{self.max_power_w:.4g}",
            "idle_power_w": f"{self.idle_power_w:.4g}",
            "idle_fraction": f"{IDLE_FRACTION:g}",
            "utilisation_source": "/proc/stat (machine-wide)",
        }


def build_cpu_power_model(info: CpuInfo, match: CpuMatch | None = None) -> CpuPowerModel:
    """Build the model for ``info``; ``match`` defaults to :func:`match_cpu_model` of its name."""
    if match is None:
        match = match_cpu_model(info.model_name)
    vcpus = max(1, info.vcpus)
    default_w = vcpus * DEFAULT_TDP_PER_VCPU_W
    if match is None:
        tdp_w = default_w
        max_w = default_w
        source = "default per-vCPU"
        scaling = f"{vcpus} vCPU x {DEFAULT_TDP_PER_VCPU_W:g} W (model not in table)"
    else:
        entry = match.entry
        tdp_w = entry.tdp_w
        source = f"table: {entry.model}"
        if entry.threads_per_socket:
            max_w = entry.tdp_w * vcpus / entry.threads_per_socket
            scaling = f"TDP x {vcpus} vCPU / {entry.threads_per_socket} threads per socket"
        elif not info.hypervisor:
            max_w = entry.tdp_w * info.sockets
            scaling = f"TDP x {info.sockets} socket(s) seen (bare metal)"
        else:
            # A guest's sockets are virtual and the host part's thread count is unknown: cap
            # the socket TDP by the per-vCPU default rather than charge a whole socket.
            max_w = min(entry.tdp_w, default_w)
            scaling = (
                f"min(TDP, {vcpus} vCPU x {DEFAULT_TDP_PER_VCPU_W:g} W): VM, threads per "
                "socket unknown"
            )
    return CpuPowerModel(
        model_name_seen=info.model_name,
        match=match,
        tdp_w=tdp_w,
        tdp_source=source,
        vcpus=vcpus,
        max_power_w=max_w,
        idle_power_w=IDLE_FRACTION * max_w,
        scaling=scaling,
    )


# ---------------------------------------------------------------------------------------------
# Process tree CPU time (psutil, imported lazily)
# ---------------------------------------------------------------------------------------------


class _ProcessTree:
    """Cumulative CPU seconds of a process and its descendants.

    Each process contributes ``user + system + children_user + children_system``: the
    ``children_*`` fields hold the time of descendants it has already reaped (wait()ed for), so
    a child that exits between reads is still counted, through its parent, and living
    descendants are not counted twice. Quirks: a descendant reaped by a process outside the tree
    (orphans re-parented to init or a subreaper) takes its time with it; so does the root once
    it has exited and been reaped. The total is kept monotonic: a drop is clamped to no
    progress rather than negative energy.
    """

    def __init__(self, pid: int) -> None:
        import psutil  # lazy: only when a process tree is tracked

        self._psutil: Any = psutil
        self._root: Any = psutil.Process(pid)
        self._last_s: float | None = None
        self.alive = True

    def _sample_s(self) -> float | None:
        ps = self._psutil
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
            self.alive = False
            return None
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
            except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
                continue  # exited between listing and reading: its parent will carry it
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def delta_s(self) -> float:
        """CPU seconds the tree used since the previous call (0 on the first call)."""
        now = self._sample_s()
        if now is None:
            return 0.0
        previous, self._last_s = self._last_s, now
        if previous is None:
            return 0.0
        return max(0.0, now - previous)


# ---------------------------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------------------------

DEVICE_ID = "cpu-model:machine"


class CpuModelReader:
    """CPU power estimate as a cumulative energy counter (``energy_j``, provenance estimated).

    ``proc_root`` is where ``cpuinfo`` and ``stat`` are read (tests pass a fake tree); ``clock``
    returns monotonic seconds; ``pid`` (optional) is the root of a process tree whose share of
    the machine's busy CPU time is followed; ``clk_tck`` is the kernel's ``USER_HZ`` (ticks per
    second of ``/proc/stat``), needed only for that share.

    The first :meth:`read` returns 0 J and sets the baseline; each later read adds
    ``P(u) * dt`` for the interval since the previous read, with ``u`` the interval's average
    utilisation. A window's energy is the difference of two reads.
    """

    name = "cpu-model"

    def __init__(
        self,
        proc_root: str | os.PathLike[str] = "/proc",
        *,
        clock: Callable[[], float] = time.monotonic,
        pid: int | None = None,
        clk_tck: int | None = None,
    ) -> None:
        self.proc_root = os.fspath(proc_root)
        self._clock = clock
        self._pid = pid
        self._clk_tck = clk_tck
        self._model: CpuPowerModel | None = None
        self._device: DeviceInfo | None = None
        self._tree: _ProcessTree | None = None
        self._tree_note = ""
        self._tracking = False
        self._last_t: float | None = None
        self._last_times: CpuTimes | None = None
        self._last_u: float = 0.0
        self._energy_j = 0.0
        self._process_energy_j = 0.0
        self._process_cpu_s = 0.0
        self._process_share: float | None = None

    # -- describing ------------------------------------------------------------------------

    @property
    def model(self) -> CpuPowerModel:
        """The power model (built on first use from ``<proc_root>/cpuinfo``)."""
        if self._model is None:
            self._model = build_cpu_power_model(read_cpuinfo(self.proc_root))
        return self._model

    def _device_info(self) -> DeviceInfo:
        params = self.model.params()
        if self._pid is not None:
            params["tracked_pid"] = str(self._pid)
            params["process_share"] = self._tree_note or "tree CPU time / machine busy CPU time"
        name = f"CPU estimate ({self.model.model_name_seen or 'unknown CPU'})"
        return DeviceInfo(
            device_id=DEVICE_ID,
            kind="cpu",
            name=name,
            provenance=Provenance.ESTIMATED,
            source=f"model:{MODEL_NAME}:{os.path.join(self.proc_root, 'stat')}",
            params=params,
        )

    def probe(self) -> ProbeResult:
        """Never raises: available where ``<proc_root>/stat`` can be read."""
        from wattwise.readers.probe import ProbeResult  # not created at start-up: see there

        try:
            read_cpu_times(self.proc_root)
            device = self._device_info()
        except Exception as exc:  # probe() must never raise
            return ProbeResult(self.name, False, f"CPU utilisation unreadable: {exc}")
        p = device.params
        reason = (
            f"estimate: {p['model_name_seen']} -> {p['tdp_source']}, "
            f"P_max {p['max_power_w']} W, idle {p['idle_power_w']} W"
        )
        return ProbeResult(self.name, True, reason, (device,), dict(p))

    # -- reading ---------------------------------------------------------------------------

    def open(self) -> list[DeviceInfo]:
        """Build the model and (with ``pid``) attach to the process tree.

        Reads nothing but a check of ``/proc/stat``: the first :meth:`read` is the baseline of
        the first interval (no waiting for a utilisation sample). On an open reader, returns the
        same device.
        """
        if self._device is not None:
            return [self._device]
        try:
            read_cpu_times(self.proc_root)
        except ReaderError as exc:
            raise ReaderUnavailable(f"cpu-model: {exc}") from exc
        if self._pid is not None:
            try:
                self._tree = _ProcessTree(self._pid)
                self._tracking = True
            except Exception as exc:  # psutil missing, no such pid, access denied
                self._tree = None
                self._tree_note = f"unavailable: {exc}"
        self._device = self._device_info()
        return [self._device]

    def read(self) -> list[Reading]:
        """Cumulative model energy since the first read. Raises :class:`ReaderError`."""
        if self._device is None:
            raise ReaderError("cpu-model: read() before open()")
        now = self._clock()
        times = read_cpu_times(self.proc_root)
        tree_s = self._tree.delta_s() if self._tree is not None else 0.0
        self._process_cpu_s += tree_s
        if self._last_t is not None and self._last_times is not None:
            dt = max(0.0, now - self._last_t)
            u = utilisation_between(self._last_times, times)
            if u is None:  # no tick elapsed (reads < 10 ms apart): keep the last utilisation
                u = self._last_u
            self._last_u = u
            interval_j = self.model.power_w(u) * dt
            self._energy_j += interval_j
            if self._tree is not None:
                busy_s = (times.busy_ticks - self._last_times.busy_ticks) / self._ticks_per_s()
                share = min(1.0, tree_s / busy_s) if busy_s > 0 else 0.0
                self._process_share = share
                self._process_energy_j += interval_j * share
        self._last_t = now
        self._last_times = times
        return [Reading(DEVICE_ID, now, energy_j=self._energy_j)]

    def close(self) -> None:
        """Forget the process tree; a later :meth:`open` starts afresh. Never raises."""
        self._tree = None
        self._device = None
        self._last_t, self._last_times, self._energy_j = None, None, 0.0

    # -- attribution -----------------------------------------------------------------------

    def attach_process(self, pid: int) -> None:
        """Follow the process tree rooted at ``pid`` from the next read on (after ``open()``)."""
        self._pid = pid
        self._tree = _ProcessTree(pid)  # raises if psutil is missing or the pid does not exist
        self._tracking = True
        self._process_cpu_s = 0.0
        self._process_energy_j = 0.0
        self._tree.delta_s()  # baseline now, so the first interval counts only from here

    def _ticks_per_s(self) -> int:
        if self._clk_tck is None:
            # USER_HZ: the unit of /proc/stat; 100 on practically every Linux build.
            self._clk_tck = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return self._clk_tck

    def utilisation(self) -> float:
        """Machine utilisation (0..1) over the last interval read (0 before two reads)."""
        return self._last_u

    def process_share(self) -> float | None:
        """Fraction (0..1) of the machine's busy CPU time used by the tracked tree.

        Over the last interval read. None without ``pid``, when the tree cannot be followed
        (see ``params['process_share']``), or before two reads.
        """
        return self._process_share if self._tracking else None

    def process_cpu_s(self) -> float | None:
        """CPU seconds the tracked tree used since the first read, or None without one."""
        return self._process_cpu_s if self._tracking else None

    def process_energy_j(self) -> float | None:
        """Cumulative machine estimate attributed to the tracked tree (J), or None without one.

        Each interval's machine energy (idle part included) times the tree's share of busy CPU
        time in that interval: the tracked work is charged the machine's CPU power while it is
        the one keeping it busy.
        """
        return self._process_energy_j if self._tracking else None


__all__ = [
    "DEFAULT_TDP_PER_VCPU_W",
    "DEVICE_ID",
    "IDLE_FRACTION",
    "CpuInfo",
    "CpuMatch",
    "CpuModelReader",
    "CpuPowerModel",
    "CpuTdpEntry",
    "CpuTimes",
    "build_cpu_power_model",
    "load_cpu_tdp_table",
    "match_cpu_model",
    "normalise_cpu_name",
    "read_cpu_times",
    "read_cpuinfo",
    "utilisation_between",
]

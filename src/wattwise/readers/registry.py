"""Discovery of the readers that work on this machine, and the facts ``wattwise doctor`` shows.

Order of preference per device kind: a hardware counter (RAPL package / DRAM, NVML total energy,
amdsmi energy) before power samples, and a model estimate only where neither exists. The
estimates are therefore never counted alongside a counter for the same device.

Discovery opens the readers it chooses (``open()`` raises with the reason when a reader cannot
be used) rather than probing first and opening later: ``probe()`` then ``open()`` initialised
each library twice inside ``Tracker.start()`` (for NVML: ``nvmlInit`` and the per-GPU queries,
slowest where no persistence daemon keeps the driver loaded). A reader's ``open()`` is
idempotent, so the tracker opening the chosen readers again costs nothing; whoever uses them
closes them. ``probe_all()`` (the doctor) still probes, which leaves nothing open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from wattwise.errors import ReaderUnavailable
from wattwise.readers import presence
from wattwise.readers.base import DeviceInfo, Reader

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

ReaderFactory = Callable[[], Reader]
GpuSelection = Sequence[str] | None


def _absent(reason: str | None) -> None:
    """Raise ReaderUnavailable with ``reason`` (from :mod:`presence`) when it is not None."""
    if reason is not None:
        raise ReaderUnavailable(reason)


# Each hardware factory first asks :mod:`wattwise.readers.presence` whether the interface is
# certainly absent, so a machine without it imports neither the reader nor its binding.


def _rapl() -> Reader:
    _absent(presence.powercap_missing())
    from wattwise.readers.rapl import RaplReader

    return RaplReader()


def _nvml(gpus: GpuSelection = None) -> Reader:
    _absent(presence.nvml_library_missing())
    from wattwise.readers.nvml import NvmlReader

    return NvmlReader(gpus=gpus)


def _amd(gpus: GpuSelection = None) -> Reader:
    _absent(presence.amdsmi_missing())
    from wattwise.readers.amd import AmdSmiReader

    return AmdSmiReader(gpus=gpus)


def _cpu_model() -> Reader:
    from wattwise.readers.cpu_model import CpuModelReader

    return CpuModelReader()


def _memory_model() -> Reader:
    from wattwise.readers.memory_model import MemoryModelReader

    return MemoryModelReader()


#: Hardware readers, tried in this order.
HARDWARE_READERS: dict[str, Callable[..., Reader]] = {
    "rapl": _rapl,
    "nvml": _nvml,
    "amdsmi": _amd,
}
#: Model estimates, used only where no counter covers the kind.
MODEL_READERS: dict[str, ReaderFactory] = {"cpu-model": _cpu_model, "memory-model": _memory_model}


def _with_gpus(factory: Callable[..., Reader], gpus: Sequence[str]) -> ReaderFactory:
    return lambda: factory(gpus)


def _safe_probe(name: str, factory: ReaderFactory) -> tuple[Reader | None, ProbeResult]:
    from wattwise.readers.probe import ProbeResult  # the doctor's: not created by discovery

    try:
        reader = factory()
        return reader, reader.probe()
    except ReaderUnavailable as exc:  # a factory's presence check
        return None, ProbeResult(reader=name, available=False, reason=str(exc))
    except Exception as exc:  # probe() never raises, but a constructor might
        reason = f"{type(exc).__name__}: {exc}"
        return None, ProbeResult(reader=name, available=False, reason=reason)


def probe_all() -> list[ProbeResult]:
    """Probe every known reader (hardware and models). Never raises."""
    return [_safe_probe(n, f)[1] for n, f in {**HARDWARE_READERS, **MODEL_READERS}.items()]


#: (kind a counter would cover, model reader used without one, the note that says so)
_MODEL_FALLBACKS = (
    ("cpu", "cpu-model", "cpu energy is estimated from a power model (no RAPL package counter)"),
    (
        "dram",
        "memory-model",
        "memory energy is estimated from a per-module model (no RAPL DRAM domain)",
    ),
)


def _safe_open(name: str, factory: ReaderFactory) -> tuple[Reader | None, list[DeviceInfo], str]:
    """(the open reader, its devices, "") or (None, [], why it cannot be used). Never raises."""
    try:
        reader = factory()
        return reader, list(reader.open()), ""
    except ReaderUnavailable as exc:
        reason = str(exc) or type(exc).__name__
        return None, [], reason.removeprefix(f"{name}: ")
    except Exception as exc:  # a constructor or open() that breaks its contract
        return None, [], f"{type(exc).__name__}: {exc}"


def default_readers(notes: list[str] | None = None, gpus: GpuSelection = None) -> list[Reader]:
    """The readers to use on this machine, already open; what was left out and why is appended
    to ``notes``. The caller closes them (``Tracker.stop()`` does).

    ``gpus`` (indices or UUIDs) selects GPUs for NVML and amdsmi instead of the
    ``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES`` defaults.
    """
    notes = notes if notes is not None else []
    chosen: list[Reader] = []
    covered: set[str] = set()
    for name, factory in HARDWARE_READERS.items():
        if gpus is not None and name in ("nvml", "amdsmi"):
            factory = _with_gpus(factory, gpus)
        reader, devices, reason = _safe_open(name, factory)
        if reader is not None and devices:
            chosen.append(reader)
            covered |= {d.kind for d in devices}
        elif reader is not None:  # open, but nothing to read: release it
            reader.close()
        elif name == "rapl":
            notes.append(f"rapl: {reason}")
    for kind, name, why in _MODEL_FALLBACKS:
        if kind in covered:
            continue
        reader, devices, reason = _safe_open(name, MODEL_READERS[name])
        if reader is not None and devices:
            chosen.append(reader)
            notes.append(why)
        else:
            if reader is not None:
                reader.close()
            notes.append(f"{name}: {reason or 'no device'}")
    return chosen


#: The GPU readers among :data:`HARDWARE_READERS`.
GPU_READERS = ("nvml", "amdsmi")


def gpu_readers(gpus: GpuSelection = None) -> list[Reader]:
    """The GPU readers only (NVML, amdsmi), already open: for a process that reads its own GPU
    while another process of the machine reads the CPU (``wattwise.integrations.distributed``).
    ``gpus`` as for :func:`default_readers`; a GPU reader that cannot be used is left out
    silently, as there. The caller closes them."""
    chosen: list[Reader] = []
    for name in GPU_READERS:
        factory = HARDWARE_READERS[name]
        if gpus is not None:
            factory = _with_gpus(factory, gpus)
        reader, devices, _reason = _safe_open(name, factory)
        if reader is not None and devices:
            chosen.append(reader)
        elif reader is not None:
            reader.close()
    return chosen

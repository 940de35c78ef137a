"""Discovery of the readers that work on this machine, and the facts ``wattwise doctor`` shows.

Order of preference per device kind: a hardware counter (RAPL package / DRAM, NVML total energy,
amdsmi energy) before power samples, and a model estimate only where neither exists. The
estimates are therefore never counted alongside a counter for the same device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wattwise.readers.base import DeviceInfo, ProbeResult, Reader

ReaderFactory = Callable[[], Reader]
GpuSelection = Sequence[str] | None


def _rapl() -> Reader:
    from wattwise.readers.rapl import RaplReader

    return RaplReader()


def _nvml(gpus: GpuSelection = None) -> Reader:
    from wattwise.readers.nvml import NvmlReader

    return NvmlReader(gpus=gpus)


def _amd(gpus: GpuSelection = None) -> Reader:
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
    try:
        reader = factory()
        return reader, reader.probe()
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


def _kinds(devices: tuple[DeviceInfo, ...]) -> set[str]:
    return {d.kind for d in devices}


def default_readers(notes: list[str] | None = None, gpus: GpuSelection = None) -> list[Reader]:
    """The readers to use on this machine; what was left out and why is appended to ``notes``.

    ``gpus`` (indices or UUIDs) selects GPUs for NVML and amdsmi instead of the
    ``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES`` defaults.
    """
    notes = notes if notes is not None else []
    chosen: list[Reader] = []
    covered: set[str] = set()
    for name, factory in HARDWARE_READERS.items():
        if gpus is not None and name in ("nvml", "amdsmi"):
            factory = _with_gpus(factory, gpus)
        reader, probe = _safe_probe(name, factory)
        if reader is not None and probe.available:
            chosen.append(reader)
            covered |= _kinds(probe.devices)
        elif name == "rapl":
            notes.append(f"rapl: {probe.reason}")
    for kind, name, why in _MODEL_FALLBACKS:
        if kind in covered:
            continue
        reader, probe = _safe_probe(name, MODEL_READERS[name])
        if reader is not None and probe.available:
            chosen.append(reader)
            notes.append(why)
        else:
            notes.append(f"{name}: {probe.reason}")
    return chosen

"""NVIDIA GPUs through NVML (the ``pynvml`` module of the ``nvidia-ml-py`` package).

Per GPU, one of two provenances:

* ``measured``: ``nvmlDeviceGetTotalEnergyConsumption``, a 64-bit counter of millijoules since the
  driver was loaded (Volta and newer). :meth:`NvmlReader.read` returns the energy in joules since
  :meth:`NvmlReader.open`.
* ``integrated``: on older GPUs the counter answers ``NVML_ERROR_NOT_SUPPORTED``; ``read()`` then
  returns ``nvmlDeviceGetPowerUsage`` (milliwatts, reported here in watts) and the tracker
  integrates the samples.

Reading cost. On an H100 the energy counter only advances every ~100 ms and one read took ~4 ms in
a VM. ``read()`` is meant for window boundaries and a modest sampling rate (>= 0.1 s), never for a
tight loop; windows shorter than the counter's update period read as zero or one step.

GPU selection. ``gpus=`` takes NVML indices (the order of ``nvidia-smi``, i.e. PCI bus order) or
UUIDs (``GPU-...``, unique prefixes accepted). Without it, ``CUDA_VISIBLE_DEVICES`` is honoured
like CUDA does: comma-separated indices, UUIDs or UUID prefixes, MIG instance UUIDs; empty,
``-1`` or ``NoDevFiles`` hide every GPU, and parsing stops at the first negative index.

Quirk: CUDA numbers devices "fastest first" unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, while NVML
numbers them in PCI bus order, so on a machine with mixed GPUs ``CUDA_VISIBLE_DEVICES=0`` may not
be NVML's GPU 0 (https://docs.nvidia.com/cuda/cuda-c-programming-guide/#cuda-environment-variables).
We map indices in PCI bus order and say so in ``probe().details["cuda_device_order"]`` when
``CUDA_DEVICE_ORDER`` is not ``PCI_BUS_ID``; UUIDs are always exact.

MIG. With MIG enabled, NVML reports energy and power only for the whole physical GPU, not per
instance (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/). Such a GPU is reported once,
whichever of its instances are selected, with ``params["mig"]`` saying the energy is shared.

Value sanity: the counter does not wrap (a decrease is a driver reload, a GPU reset or a glitch);
deltas and power samples are bounded by 2x the highest power limit NVML allows
(``nvmlDeviceGetPowerManagementLimitConstraints``, else the enforced limit, else a documented
default; :mod:`wattwise.readers.counter`). The read loop and its failure policy are shared with
amdsmi (:mod:`wattwise.readers.vendor_gpu`).

Errors from NVML are translated into wattwise errors in one place, :func:`translate_nvml_error`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from wattwise.errors import ConfigError, ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.readers.counter import (
    GPU_POWER_LIMIT_MARGIN,
    CounterSanity,
    PowerCap,
    stated_cap,
)
from wattwise.readers.presence import NO_NVIDIA_DRIVER_FIX, NVML_LIBRARY, nvml_library_missing
from wattwise.readers.vendor_gpu import GpuDevice, VendorGpuReader, vendor_call

READER_NAME = "nvml"
INSTALL_HINT = 'pip install "wattwise[nvidia]"'
MIG_ENABLED_NOTE = "enabled; energy is for the whole GPU, shared by all instances"
ENERGY_SOURCE = "nvml:nvmlDeviceGetTotalEnergyConsumption"
POWER_SOURCE = "nvml:nvmlDeviceGetPowerUsage"

# NVML return codes from nvml.h (the values of pynvml.NVML_ERROR_*); used when the module object
# does not define the constant (an old binding or a test fake).
_NVML_CODES: dict[str, int] = {
    "NOT_SUPPORTED": 3,
    "NO_PERMISSION": 4,
    "DRIVER_NOT_LOADED": 9,
    "LIBRARY_NOT_FOUND": 12,
    "FUNCTION_NOT_FOUND": 13,
    "GPU_IS_LOST": 15,
    "LIB_RM_VERSION_MISMATCH": 18,
}


class NvmlNotSupported(ReaderError):
    """The GPU, driver or binding does not support a query (``NVML_ERROR_NOT_SUPPORTED``)."""


def _code(nvml: Any, name: str) -> int:
    return int(getattr(nvml, f"NVML_ERROR_{name}", _NVML_CODES[name]))


def translate_nvml_error(nvml: Any, exc: BaseException, doing: str) -> ReaderError:
    """Turn an exception raised by an NVML call into a wattwise error with a readable message.

    ``doing`` says what was attempted ("reading total energy of GPU 0"). Machine-level problems
    (library missing, driver not loaded, permissions, version mismatch) become
    :class:`ReaderUnavailable` with the fix; an unsupported query becomes :class:`NvmlNotSupported`;
    everything else a plain :class:`ReaderError`.
    """
    error_cls = getattr(nvml, "NVMLError", None)
    if not (isinstance(error_cls, type) and isinstance(exc, error_cls)):
        return ReaderError(f"{doing} failed: {type(exc).__name__}: {exc}")
    value = getattr(exc, "value", None)
    if value == _code(nvml, "LIBRARY_NOT_FOUND"):
        return ReaderUnavailable(
            f"no NVIDIA driver: {NVML_LIBRARY} was not found. {NO_NVIDIA_DRIVER_FIX}"
        )
    if value == _code(nvml, "DRIVER_NOT_LOADED"):
        return ReaderUnavailable(
            "the NVIDIA kernel driver is not loaded (nvidia-smi fails too): load it "
            "(sudo modprobe nvidia) or reboot after installing it"
        )
    if value == _code(nvml, "NO_PERMISSION"):
        return ReaderUnavailable(
            f"{doing}: no permission to use the GPU; "
            "the user needs read/write access to /dev/nvidia*"
        )
    if value == _code(nvml, "LIB_RM_VERSION_MISMATCH"):
        return ReaderUnavailable(
            "the NVML library and the loaded kernel driver have different versions: reboot (or "
            "reload the nvidia kernel modules) after a driver upgrade"
        )
    if value in (_code(nvml, "NOT_SUPPORTED"), _code(nvml, "FUNCTION_NOT_FOUND")):
        return NvmlNotSupported(f"{doing}: not supported by this GPU or driver")
    if value == _code(nvml, "GPU_IS_LOST"):
        return ReaderError(f"{doing} failed: the GPU is lost (fell off the bus); it needs a reset")
    return ReaderError(f"{doing} failed: {exc} (NVML error {value})")


def _call(nvml: Any, fn_name: str, *args: Any, doing: str) -> Any:
    """Call ``nvml.<fn_name>(*args)``; every failure leaves as a translated wattwise error."""
    return vendor_call(
        nvml,
        fn_name,
        *args,
        doing=doing,
        translate=translate_nvml_error,
        missing=NvmlNotSupported,
        binding="nvidia-ml-py",
    )


def _power_cap(nvml: Any, gpu: NvmlGpu, enforced_w: float | None) -> PowerCap:
    """Plausible power of ``gpu``: 2x the highest limit NVML allows (or the enforced one)."""
    try:
        _min_mw, max_mw = _call(
            nvml,
            "nvmlDeviceGetPowerManagementLimitConstraints",
            gpu.handle,
            doing="reading power limit constraints",
        )
        max_w = float(max_mw) / 1000.0
        what = "the highest power limit NVML allows"
    except (ReaderError, TypeError, ValueError):
        max_w, what = enforced_w or 0.0, "the enforced power limit"
    return stated_cap("gpu", max_w, GPU_POWER_LIMIT_MARGIN, what)


def _text(value: object) -> str:
    # Older nvidia-ml-py releases return bytes for names, UUIDs and versions; newer ones str.
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _import_pynvml() -> Any:
    missing = nvml_library_missing()
    if missing is not None:
        raise ReaderUnavailable(missing)
    try:
        import pynvml
    except ImportError as exc:
        raise ReaderUnavailable(f"nvidia-ml-py is not installed: {INSTALL_HINT}") from exc
    return pynvml


def visible_device_tokens(value: str) -> list[str]:
    """Parse a ``CUDA_VISIBLE_DEVICES`` value as CUDA does: the entries it makes visible.

    An empty value, ``NoDevFiles`` or a leading negative index hide every GPU; entries after the
    first negative index are ignored (CUDA stops parsing there).
    """
    tokens: list[str] = []
    for raw in value.split(","):
        token = raw.strip()
        if not token or token == "NoDevFiles":
            break
        if token.lstrip("-").isdigit() and int(token) < 0:
            break
        tokens.append(token)
    return tokens


@dataclass(frozen=True)
class NvmlGpu:
    """One physical GPU as NVML enumerates it (``index`` is NVML's, i.e. PCI bus order)."""

    index: int
    uuid: str
    name: str
    handle: Any

    def describe(self) -> str:
        return f"{self.index}: {self.name} ({self.uuid})"


def _match_uuid(gpus: Sequence[NvmlGpu], prefix: str) -> list[NvmlGpu]:
    return [g for g in gpus if g.uuid.lower().startswith(prefix.lower())]


def _mig_parent_uuid(nvml: Any, mig_uuid: str) -> str | None:
    """UUID of the physical GPU holding MIG instance ``mig_uuid``, or None if NVML cannot say."""
    if mig_uuid.upper().startswith("MIG-GPU-"):
        # Driver < 470 form: MIG-GPU-<gpu uuid>/<gpu instance>/<compute instance>.
        return mig_uuid[4:].split("/")[0]
    try:
        mig = _call(nvml, "nvmlDeviceGetHandleByUUID", mig_uuid, doing="resolving MIG UUID")
        parent = _call(
            nvml, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle", mig, doing="resolving MIG UUID"
        )
        return _text(_call(nvml, "nvmlDeviceGetUUID", parent, doing="resolving MIG UUID"))
    except ReaderError:
        return None


def select_gpus(
    nvml: Any, gpus: Sequence[NvmlGpu], tokens: Sequence[str], origin: str
) -> list[NvmlGpu]:
    """The GPUs named by ``tokens`` (indices, UUIDs or unique UUID prefixes, MIG UUIDs), in order,
    each physical GPU once. Raises :class:`ConfigError` listing the available GPUs otherwise."""
    available = "; ".join(g.describe() for g in gpus) or "none"
    chosen: list[NvmlGpu] = []
    for token in tokens:
        found: list[NvmlGpu] = []
        if token.isdigit():
            found = [g for g in gpus if g.index == int(token)]
        elif token.upper().startswith("GPU-"):
            found = _match_uuid(gpus, token)
        elif token.upper().startswith("MIG-"):
            parent = _mig_parent_uuid(nvml, token)
            found = [g for g in gpus if g.uuid == parent] if parent else []
        if len(found) > 1:
            raise ConfigError(
                f"{origin}: {token!r} matches several GPUs; give more of the UUID. "
                f"Available: {available}"
            )
        if not found:
            raise ConfigError(
                f"{origin}: {token!r} is not a visible NVIDIA GPU (an index or a GPU-/MIG- UUID). "
                f"Available: {available}"
            )
        if found[0] not in chosen:
            chosen.append(found[0])
    return chosen


class NvmlReader(VendorGpuReader):
    """Energy of NVIDIA GPUs through NVML. See the module docstring for provenance and quirks.

    ``nvml`` is the ``pynvml`` module (imported on first use when None; tests pass a fake of the
    same shape). ``gpus`` selects GPUs by NVML index or UUID; None means every GPU visible through
    ``CUDA_VISIBLE_DEVICES`` (read from ``environ``, default ``os.environ``). ``clock`` gives the
    monotonic seconds stamped on readings.

    ``read()`` follows the vendor-GPU policy (:mod:`wattwise.readers.vendor_gpu`): a GPU that
    fails or glitches is left out and its reason kept in :attr:`last_errors` (the tracker records
    the missing device as a gap); only when every GPU's call fails does ``read()`` raise
    :class:`ReaderError`.
    """

    name = READER_NAME
    vendor = "NVIDIA"

    def __init__(
        self,
        nvml: ModuleType | None = None,
        gpus: Sequence[int | str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(nvml, gpus, clock, environ)

    # ------------------------------------------------------------------ hooks
    def _import(self) -> Any:
        return _import_pynvml()

    def _init(self, mod: Any) -> None:
        _call(mod, "nvmlInit", doing="initialising NVML")

    def _shutdown(self, mod: Any) -> None:
        mod.nvmlShutdown()

    def _counter_label(self) -> str:
        return "the total-energy counter"

    def _read_counter(self, mod: Any, dev: GpuDevice) -> object:
        index = dev.gpu.index
        doing = f"reading total energy of GPU {index}"
        return _call(mod, "nvmlDeviceGetTotalEnergyConsumption", dev.gpu.handle, doing=doing)

    def _read_power(self, mod: Any, dev: GpuDevice) -> object:
        doing = f"reading power of GPU {dev.gpu.index}"
        return _call(mod, "nvmlDeviceGetPowerUsage", dev.gpu.handle, doing=doing)

    def _selection(self) -> tuple[list[str] | None, str]:
        """The selection tokens (None: every GPU) and a description of where they came from."""
        if self._gpus is not None:
            return self._gpus, "gpus=" + ",".join(self._gpus)
        value = self._env().get("CUDA_VISIBLE_DEVICES")
        if value is None:
            return None, "all GPUs (CUDA_VISIBLE_DEVICES is not set)"
        return visible_device_tokens(value), f"CUDA_VISIBLE_DEVICES={value!r}"

    def _cuda_order_note(self) -> str | None:
        order = self._env().get("CUDA_DEVICE_ORDER", "FASTEST_FIRST")
        if order == "PCI_BUS_ID":
            return None
        return (
            f"CUDA_DEVICE_ORDER is {order}: CUDA may number GPUs differently from NVML (PCI bus "
            "order); wattwise maps CUDA_VISIBLE_DEVICES indices in PCI bus order. Set "
            "CUDA_DEVICE_ORDER=PCI_BUS_ID or use GPU UUIDs to be exact."
        )

    def _discover(self, nvml: Any, details: dict[str, str]) -> list[GpuDevice]:
        """Enumerate, select and classify GPUs; fills ``details`` for the doctor."""
        try:
            details["driver_version"] = _text(
                _call(nvml, "nvmlSystemGetDriverVersion", doing="reading the driver version")
            )
        except ReaderError:
            details["driver_version"] = "unknown"
        count = int(_call(nvml, "nvmlDeviceGetCount", doing="counting GPUs"))
        all_gpus: list[NvmlGpu] = []
        for index in range(count):
            doing = f"identifying GPU {index}"
            handle = _call(nvml, "nvmlDeviceGetHandleByIndex", index, doing=doing)
            uuid = _text(_call(nvml, "nvmlDeviceGetUUID", handle, doing=doing))
            name = _text(_call(nvml, "nvmlDeviceGetName", handle, doing=doing))
            all_gpus.append(NvmlGpu(index, uuid, name, handle))
            details[f"gpu.{index}"] = f"{name} ({uuid})"
        details["gpu_count"] = str(count)
        tokens, origin = self._selection()
        details["selection"] = origin
        if count == 0:
            raise ReaderUnavailable("NVML works but found no NVIDIA GPU")
        if tokens is None:
            selected = all_gpus
        else:
            selected = select_gpus(nvml, all_gpus, tokens, origin)
            if self._gpus is None and any(t.isdigit() for t in tokens) and count > 1:
                note = self._cuda_order_note()
                if note:
                    details["cuda_device_order"] = note
        if not selected:
            raise ReaderUnavailable(f"{origin} hides every NVIDIA GPU from this process")
        devices = [d for d in (self._classify(nvml, g, details) for g in selected) if d is not None]
        if not devices:
            raise ReaderUnavailable(
                "no selected NVIDIA GPU reports energy or power: " + details.get("skipped", "")
            )
        return devices

    def _classify(self, nvml: Any, gpu: NvmlGpu, details: dict[str, str]) -> GpuDevice | None:
        """Measured (energy counter) or integrated (power) device for ``gpu``; None if neither."""
        params = {"index": str(gpu.index), "uuid": gpu.uuid, "mig": self._mig_mode(nvml, gpu)}
        limit_w: float | None = None
        try:
            limit_mw = _call(
                nvml, "nvmlDeviceGetEnforcedPowerLimit", gpu.handle, doing="reading power limit"
            )
            limit_w = int(limit_mw) / 1000.0
            params["power_limit_w"] = f"{limit_w:g}"
        except (ReaderError, TypeError, ValueError):
            params["power_limit_w"] = "unknown"
        cap = _power_cap(nvml, gpu, limit_w)
        params.update(cap.params())
        doing = f"reading total energy of GPU {gpu.index}"
        try:
            raw_mj = _call(nvml, "nvmlDeviceGetTotalEnergyConsumption", gpu.handle, doing=doing)
        except NvmlNotSupported:
            # Pre-Volta GPUs: fall back to power samples. nvmlDeviceGetPowerUsage is
            # instantaneous there (on Ampere-but-GA100 and newer it is a 1 s average).
            try:
                _call(nvml, "nvmlDeviceGetPowerUsage", gpu.handle, doing="reading power")
            except ReaderError as exc:
                skipped = details.get("skipped", "")
                details["skipped"] = f"{skipped}; GPU {gpu.index}: {exc}".lstrip("; ")
                return None
            info = DeviceInfo(
                f"nvml:{gpu.uuid}", "gpu", gpu.name, Provenance.INTEGRATED, POWER_SOURCE, params
            )
            return GpuDevice(gpu, info, cap, power_scale_w=1e-3)  # NVML power is in mW
        # A 64-bit mJ counter does not wrap in practice (2**64 mJ is ~585 million years at 1 kW):
        # max_range=0, so a decrease is a reset (driver reload, GPU reset) or a glitch.
        counter = CounterSanity(f"total energy of GPU {gpu.index} (mJ)", 1e-3, 0.0, cap)
        self._first_counter_value(counter, raw_mj)
        info = DeviceInfo(
            f"nvml:{gpu.uuid}", "gpu", gpu.name, Provenance.MEASURED, ENERGY_SOURCE, params
        )
        return GpuDevice(gpu, info, cap, counter=counter)

    @staticmethod
    def _mig_mode(nvml: Any, gpu: NvmlGpu) -> str:
        try:
            current, pending = _call(
                nvml, "nvmlDeviceGetMigMode", gpu.handle, doing="reading MIG mode"
            )
        except NvmlNotSupported:
            return "not supported"
        except ReaderError:
            return "unknown"
        enabled = int(getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1))
        mode = MIG_ENABLED_NOTE if int(current) == enabled else "disabled"
        if int(pending) != int(current):
            # A MIG mode change applies only after a GPU reset.
            mode += " (change pending a GPU reset)"
        return mode

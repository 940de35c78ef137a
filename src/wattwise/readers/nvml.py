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

Errors from NVML are translated into wattwise errors in one place, :func:`translate_nvml_error`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from wattwise.errors import ConfigError, ReaderError, ReaderUnavailable
from wattwise.readers.base import CounterUnwrapper, DeviceInfo, ProbeResult, Provenance, Reading
from wattwise.units import mj_to_j

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
            "no NVIDIA driver: libnvidia-ml.so.1 was not found. On a GPU machine install the "
            "NVIDIA driver; in a container, start it with the NVIDIA Container Toolkit "
            "(docker run --gpus all)"
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
    fn = getattr(nvml, fn_name, None)
    if fn is None:
        raise NvmlNotSupported(f"{doing}: this nvidia-ml-py has no {fn_name}; upgrade it")
    try:
        return fn(*args)
    except Exception as exc:
        raise translate_nvml_error(nvml, exc, doing) from exc


def _text(value: object) -> str:
    # Older nvidia-ml-py releases return bytes for names, UUIDs and versions; newer ones str.
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _import_pynvml() -> Any:
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


@dataclass
class _Device:
    gpu: NvmlGpu
    info: DeviceInfo
    unwrapper: CounterUnwrapper | None  # None: power samples (integrated)


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


class NvmlReader:
    """Energy of NVIDIA GPUs through NVML. See the module docstring for provenance and quirks.

    ``nvml`` is the ``pynvml`` module (imported on first use when None; tests pass a fake of the
    same shape). ``gpus`` selects GPUs by NVML index or UUID; None means every GPU visible through
    ``CUDA_VISIBLE_DEVICES`` (read from ``environ``, default ``os.environ``). ``clock`` gives the
    monotonic seconds stamped on readings.

    ``read()`` returns readings for the GPUs that answered; a GPU that fails is left out and its
    message kept in :attr:`last_errors` (the tracker records the missing device as a gap). Only
    when every GPU fails does ``read()`` raise :class:`ReaderError`.
    """

    name = READER_NAME

    def __init__(
        self,
        nvml: ModuleType | None = None,
        gpus: Sequence[int | str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._nvml_given = nvml
        self._gpus = None if gpus is None else [str(g).strip() for g in gpus]
        self._clock = clock
        self._environ = environ
        self._lock = threading.Lock()
        self._nvml: Any = None  # set while open
        self._devices: list[_Device] = []
        #: device_id -> message for the GPUs that failed in the last ``read()``.
        self.last_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ protocol
    def probe(self) -> ProbeResult:
        """Whether NVML works here, the GPUs it would report, driver version; never raises."""
        details: dict[str, str] = {}
        try:
            nvml = self._module()
            _call(nvml, "nvmlInit", doing="initialising NVML")
            try:
                devices = self._discover(nvml, details)
            finally:
                with contextlib.suppress(Exception):  # shutting down is best effort
                    nvml.nvmlShutdown()
        except Exception as exc:  # probe() never raises, whatever the binding does
            return ProbeResult(READER_NAME, False, str(exc) or type(exc).__name__, (), details)
        measured = sum(1 for d in devices if d.unwrapper is not None)
        reason = (
            f"{len(devices)} NVIDIA GPU(s): {measured} with the total-energy counter (measured), "
            f"{len(devices) - measured} with power samples (integrated)"
        )
        return ProbeResult(READER_NAME, True, reason, tuple(d.info for d in devices), details)

    def open(self) -> list[DeviceInfo]:
        """Initialise NVML and select GPUs; energy counts from now.

        Raises :class:`ReaderUnavailable` (no library, driver or GPU) or :class:`ConfigError`
        (a selection that names no visible GPU).
        """
        with self._lock:
            if self._nvml is not None:
                return [d.info for d in self._devices]
            nvml = self._module()
            _call(nvml, "nvmlInit", doing="initialising NVML")
            try:
                self._devices = self._discover(nvml, {})
            except BaseException:
                with contextlib.suppress(Exception):
                    nvml.nvmlShutdown()
                raise
            self._nvml = nvml
            self.last_errors = {}
            return [d.info for d in self._devices]

    def read(self) -> list[Reading]:
        """One reading per working GPU: ``energy_j`` since ``open()`` (measured) or ``power_w``
        (integrated). Raises :class:`ReaderError` when not open or when every GPU fails."""
        with self._lock:
            nvml = self._nvml
            if nvml is None:
                raise ReaderError("the NVML reader is not open")
            readings: list[Reading] = []
            failures: list[tuple[str, ReaderError]] = []
            for dev in self._devices:
                t0 = self._clock()
                try:
                    reading = self._read_one(nvml, dev, t0)
                except ReaderError as exc:
                    failures.append((dev.info.device_id, exc))
                    continue
                readings.append(reading)
            self.last_errors = {device_id: str(exc) for device_id, exc in failures}
            if failures and not readings:
                if len(failures) == 1:
                    raise failures[0][1]
                message = "; ".join(self.last_errors.values())
                raise ReaderError(message) from failures[0][1]
            return readings

    def close(self) -> None:
        """Shut NVML down; never raises."""
        with self._lock:
            nvml, self._nvml = self._nvml, None
            self._devices = []
            if nvml is None:
                return
            with contextlib.suppress(Exception):  # close() never raises
                nvml.nvmlShutdown()

    # ------------------------------------------------------------------ internals
    def _module(self) -> Any:
        return self._nvml_given if self._nvml_given is not None else _import_pynvml()

    def _read_one(self, nvml: Any, dev: _Device, t0: float) -> Reading:
        index = dev.gpu.index
        if dev.unwrapper is not None:
            raw_mj = _call(
                nvml,
                "nvmlDeviceGetTotalEnergyConsumption",
                dev.gpu.handle,
                doing=f"reading total energy of GPU {index}",
            )
            energy_j = mj_to_j(dev.unwrapper.update(int(raw_mj)))
            t = (t0 + self._clock()) / 2  # the read itself takes milliseconds
            return Reading(dev.info.device_id, t, energy_j=energy_j)
        power_mw = _call(
            nvml, "nvmlDeviceGetPowerUsage", dev.gpu.handle, doing=f"reading power of GPU {index}"
        )
        t = (t0 + self._clock()) / 2
        return Reading(dev.info.device_id, t, power_w=int(power_mw) / 1000.0)

    def _selection(self) -> tuple[list[str] | None, str]:
        """The selection tokens (None: every GPU) and a description of where they came from."""
        if self._gpus is not None:
            return self._gpus, "gpus=" + ",".join(self._gpus)
        value = self._env().get("CUDA_VISIBLE_DEVICES")
        if value is None:
            return None, "all GPUs (CUDA_VISIBLE_DEVICES is not set)"
        return visible_device_tokens(value), f"CUDA_VISIBLE_DEVICES={value!r}"

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _cuda_order_note(self) -> str | None:
        order = self._env().get("CUDA_DEVICE_ORDER", "FASTEST_FIRST")
        if order == "PCI_BUS_ID":
            return None
        return (
            f"CUDA_DEVICE_ORDER is {order}: CUDA may number GPUs differently from NVML (PCI bus "
            "order); wattwise maps CUDA_VISIBLE_DEVICES indices in PCI bus order. Set "
            "CUDA_DEVICE_ORDER=PCI_BUS_ID or use GPU UUIDs to be exact."
        )

    def _discover(self, nvml: Any, details: dict[str, str]) -> list[_Device]:
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

    def _classify(self, nvml: Any, gpu: NvmlGpu, details: dict[str, str]) -> _Device | None:
        """Measured (energy counter) or integrated (power) device for ``gpu``; None if neither."""
        params = {"index": str(gpu.index), "uuid": gpu.uuid, "mig": self._mig_mode(nvml, gpu)}
        try:
            limit_mw = _call(
                nvml, "nvmlDeviceGetEnforcedPowerLimit", gpu.handle, doing="reading power limit"
            )
            params["power_limit_w"] = f"{int(limit_mw) / 1000.0:g}"
        except ReaderError:
            params["power_limit_w"] = "unknown"
        unwrapper: CounterUnwrapper | None = None
        try:
            raw_mj = _call(
                nvml,
                "nvmlDeviceGetTotalEnergyConsumption",
                gpu.handle,
                doing=f"reading total energy of GPU {gpu.index}",
            )
            # A 64-bit mJ counter does not wrap in practice (2**64 mJ is ~585 million years at
            # 1 kW); a decrease means the driver was reloaded or the GPU reset, so max_range=0:
            # continue counting from the new value.
            unwrapper = CounterUnwrapper(max_range=0.0)
            unwrapper.update(int(raw_mj))
            provenance, source = Provenance.MEASURED, ENERGY_SOURCE
        except NvmlNotSupported:
            # Pre-Volta GPUs: fall back to power samples. nvmlDeviceGetPowerUsage is
            # instantaneous there (on Ampere-but-GA100 and newer it is a 1 s average).
            try:
                _call(nvml, "nvmlDeviceGetPowerUsage", gpu.handle, doing="reading power")
            except ReaderError as exc:
                skipped = details.get("skipped", "")
                details["skipped"] = f"{skipped}; GPU {gpu.index}: {exc}".lstrip("; ")
                return None
            provenance, source = Provenance.INTEGRATED, POWER_SOURCE
        info = DeviceInfo(f"nvml:{gpu.uuid}", "gpu", gpu.name, provenance, source, params)
        return _Device(gpu, info, unwrapper)

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

"""AMD GPUs through AMD SMI (the ``amdsmi`` Python package of ROCm).

(This module is ``amd.py``, not ``amdsmi.py``, so that it can never shadow the vendor package.)

Per GPU, one of two provenances:

* ``measured``: ``amdsmi_get_energy_count`` returns a 64-bit accumulator and its
  ``counter_resolution`` in microjoules per count; energy = accumulator x resolution
  (the raw accumulator alone is not in µJ: https://github.com/ROCm/amdsmi/issues/38). The
  accumulator's key was renamed from ``power`` to ``energy_accumulator`` in amdsmi 6.2
  (https://github.com/ml-energy/zeus/issues/123); both are read. :meth:`AmdSmiReader.read`
  returns joules since :meth:`AmdSmiReader.open`.
* ``integrated``: where the counter is not supported (amdsmi documents it as unsupported in
  virtual-machine guests), ``read()`` returns ``amdsmi_get_power_info`` socket power in watts:
  ``current_socket_power`` (MI300 and newer) or ``average_socket_power`` (older GPUs, which
  report the other one as ``"N/A"``), and the tracker integrates it.

Known problem: on some systems the energy accumulator does not advance at all
(https://github.com/AMDResearch/hpcfund/issues/21); such a GPU reads as zero energy. ``wattwise
doctor`` shows both the counter and the power so a user can spot it.

GPU selection. ``gpus=`` takes indices or UUIDs. Without it, ``ROCR_VISIBLE_DEVICES`` and then
``HIP_VISIBLE_DEVICES`` are honoured as the ROCm runtime does (HIP's indices count among the
GPUs ROCr left visible). ``CUDA_VISIBLE_DEVICES`` is not read here: on a machine with both vendors
it is meant for the NVIDIA GPUs. Indices are HIP's order: amdsmi >= 6.4 reports each GPU's HIP id
(``amdsmi_get_gpu_enumeration_info``) and we sort by it; with older amdsmi we assume amdsmi's
own order (PCI bus order), which can differ from HIP's, and say so in ``probe().details``.

Value sanity: the accumulator is 64-bit and does not wrap (a decrease is a GPU reset or a
glitch); deltas and power samples are bounded by 2x the highest power cap amdsmi states
(``amdsmi_get_power_cap_info``), else a documented default (:mod:`wattwise.readers.counter`).
The read loop and its failure policy are shared with NVML (:mod:`wattwise.readers.vendor_gpu`).

Errors from amdsmi are translated into wattwise errors in one place, :func:`translate_amdsmi_error`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from wattwise.errors import ConfigError, ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.readers.counter import (
    GPU_POWER_LIMIT_MARGIN,
    CounterSanity,
    PowerCap,
    default_cap,
    stated_cap,
)
from wattwise.readers.nvml import visible_device_tokens
from wattwise.readers.presence import AMD_INSTALL_HINT
from wattwise.readers.vendor_gpu import GpuDevice, VendorGpuReader, vendor_call

READER_NAME = "amdsmi"
INSTALL_HINT = AMD_INSTALL_HINT
ENERGY_SOURCE = "amdsmi:amdsmi_get_energy_count"
#: Power keys of ``amdsmi_get_power_info``, in watts, in order of preference.
POWER_KEYS = ("current_socket_power", "average_socket_power", "socket_power")
VISIBILITY_VARS = ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")

# amdsmi_status_t values (amdsmi.h, amdsmi_wrapper.AMDSMI_STATUS_*); stable across releases.
_NOT_SUPPORTED = (2, 3)  # NOT_SUPPORTED, NOT_YET_IMPLEMENTED
_FAIL_LOAD = (4, 5)  # FAIL_LOAD_MODULE, FAIL_LOAD_SYMBOL
_NO_PERM = 10
_INIT_ERROR = 18
_DRIVER_NOT_LOADED = 34


class AmdSmiNotSupported(ReaderError):
    """The GPU, driver or amdsmi release does not support a query."""


def translate_amdsmi_error(amdsmi: Any, exc: BaseException, doing: str) -> ReaderError:
    """Turn an exception raised by an amdsmi call into a wattwise error with a readable message.

    Machine-level problems (library, driver, permissions) become :class:`ReaderUnavailable` with
    the fix; an unsupported query :class:`AmdSmiNotSupported`; anything else :class:`ReaderError`.
    """
    error_cls = getattr(amdsmi, "AmdSmiException", None)
    if not (isinstance(error_cls, type) and isinstance(exc, error_cls)):
        return ReaderError(f"{doing} failed: {type(exc).__name__}: {exc}")
    code = getattr(exc, "err_code", None)
    # AmdSmiLibraryException's str() spans lines ("Error code:\n\t2 | ..."); err_info is one line.
    info = " ".join(str(getattr(exc, "err_info", "") or exc).split())
    if code in _NOT_SUPPORTED:
        return AmdSmiNotSupported(f"{doing}: not supported by this GPU or driver")
    if code in _FAIL_LOAD:
        return ReaderUnavailable(
            "amdsmi could not load libamd_smi.so: install ROCm's amd-smi-lib package "
            "(or set ROCM_PATH to the ROCm installation)"
        )
    if code == _NO_PERM:
        return ReaderUnavailable(
            f"{doing}: permission denied; the user needs access to /dev/kfd and /dev/dri/renderD* "
            "(add it to the 'render' and 'video' groups)"
        )
    if code in (_INIT_ERROR, _DRIVER_NOT_LOADED):
        return ReaderUnavailable(
            f"amdsmi could not initialise ({info}): is the amdgpu kernel driver loaded? "
            "(check with `amd-smi list`; sudo modprobe amdgpu)"
        )
    return ReaderError(f"{doing} failed: {info} (amdsmi error {code})")


def _call(amdsmi: Any, fn_name: str, *args: Any, doing: str) -> Any:
    """Call ``amdsmi.<fn_name>(*args)``; every failure leaves as a translated wattwise error."""
    return vendor_call(
        amdsmi,
        fn_name,
        *args,
        doing=doing,
        translate=translate_amdsmi_error,
        missing=AmdSmiNotSupported,
        binding="amdsmi",
    )


def _import_amdsmi() -> Any:
    # Quirk: when libamd_smi.so is missing, `import amdsmi` prints a hint to stdout and then
    # fails with KeyError (amdsmi_wrapper.py), not ImportError; catch everything.
    try:
        import amdsmi
    except ModuleNotFoundError as exc:
        if exc.name != "amdsmi":
            raise ReaderUnavailable(f"amdsmi cannot be imported: {exc}") from exc
        raise ReaderUnavailable(f"the amdsmi package is not installed: {INSTALL_HINT}") from exc
    except Exception as exc:
        raise ReaderUnavailable(
            "the amdsmi package could not load libamd_smi.so: install ROCm's amd-smi-lib "
            f"(or set ROCM_PATH) ({type(exc).__name__}: {exc})"
        ) from exc
    return amdsmi


def _number(value: object) -> float | None:
    """A numeric amdsmi field, or None for "N/A" (amdsmi's marker for an unavailable value)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _accumulator(energy: Mapping[str, Any]) -> object:
    """The raw accumulator of an ``amdsmi_get_energy_count`` answer (None when absent)."""
    return energy.get("energy_accumulator", energy.get("power"))  # renamed in amdsmi 6.2


def _power_cap(cap_info: Mapping[str, Any] | None) -> PowerCap:
    """Plausible power: 2x the highest power cap amdsmi allows (µW), else the set cap."""
    info = cap_info or {}
    for key, what in (
        ("max_power_cap", "the highest power cap amdsmi allows"),
        ("power_cap", "the power cap"),
    ):
        cap_uw = _number(info.get(key))
        if cap_uw:
            return stated_cap("gpu", cap_uw / 1e6, GPU_POWER_LIMIT_MARGIN, what)
    return default_cap("gpu")


@dataclass(frozen=True)
class AmdGpu:
    """One AMD GPU. ``index`` is its position in HIP's order (see the module docstring)."""

    index: int
    uuid: str
    hip_uuid: str
    bdf: str
    name: str
    handle: Any

    def describe(self) -> str:
        ident = self.uuid or self.bdf or "no uuid"
        return f"{self.index}: {self.name} ({ident})"

    @property
    def device_id(self) -> str:
        return f"amdsmi:{self.uuid or self.bdf or self.index}"


def _norm_uuid(value: str) -> str:
    value = value.strip().lower()
    return value[4:] if value.startswith("gpu-") else value


def select_amd_gpus(gpus: Sequence[AmdGpu], tokens: Sequence[str], origin: str) -> list[AmdGpu]:
    """The GPUs named by ``tokens``: positions in ``gpus`` or (unique prefixes of) UUIDs.

    Raises :class:`ConfigError` listing the available GPUs when a token matches none or several.
    """
    available = "; ".join(g.describe() for g in gpus) or "none"
    chosen: list[AmdGpu] = []
    for token in tokens:
        if token.isdigit():
            found = [gpus[int(token)]] if int(token) < len(gpus) else []
        else:
            key = _norm_uuid(token)
            found = [
                g
                for g in gpus
                if any(u and _norm_uuid(u).startswith(key) for u in (g.uuid, g.hip_uuid))
            ]
        if len(found) != 1:
            problem = "matches several GPUs" if found else "is not a visible AMD GPU"
            raise ConfigError(f"{origin}: {token!r} {problem}. Available: {available}")
        if found[0] not in chosen:
            chosen.append(found[0])
    return chosen


class AmdSmiReader(VendorGpuReader):
    """Energy of AMD GPUs through amdsmi. See the module docstring for provenance and quirks.

    ``amdsmi`` is the vendor module (imported on first use when None; tests pass a fake).
    ``gpus`` selects by index or UUID; None means every GPU visible through
    ``ROCR_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES`` (read from ``environ``, default
    ``os.environ``). ``clock`` gives the monotonic seconds stamped on readings.

    Like the NVML reader (the same base, :mod:`wattwise.readers.vendor_gpu`), ``read()``
    returns readings for the GPUs that answered plausibly, keeps the others' reasons in
    :attr:`last_errors`, and raises :class:`ReaderError` only when every GPU's call fails.
    Meant for window boundaries and a modest sampling rate, not a tight loop.
    """

    name = READER_NAME
    vendor = "AMD"

    def __init__(
        self,
        amdsmi: ModuleType | None = None,
        gpus: Sequence[int | str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(amdsmi, gpus, clock, environ)

    # ------------------------------------------------------------------ hooks
    def _import(self) -> Any:
        return _import_amdsmi()

    def _init(self, mod: Any) -> None:
        _call(mod, "amdsmi_init", doing="initialising amdsmi")

    def _shutdown(self, mod: Any) -> None:
        mod.amdsmi_shut_down()

    def _read_counter(self, mod: Any, dev: GpuDevice) -> object:
        doing = f"reading the energy counter of AMD GPU {dev.gpu.index}"
        energy = _call(mod, "amdsmi_get_energy_count", dev.gpu.handle, doing=doing)
        return _accumulator(energy)

    def _read_power(self, mod: Any, dev: GpuDevice) -> object:
        doing = f"reading power of AMD GPU {dev.gpu.index}"
        info = _call(mod, "amdsmi_get_power_info", dev.gpu.handle, doing=doing)
        return info.get(dev.power_key)

    def _enumerate(self, amdsmi: Any, details: dict[str, str]) -> list[AmdGpu]:
        handles = list(_call(amdsmi, "amdsmi_get_processor_handles", doing="listing AMD GPUs"))
        gpus: list[AmdGpu] = []
        hip_ids: list[int | None] = []
        for position, handle in enumerate(handles):
            hip_id: int | None = None
            hip_uuid = ""
            with contextlib.suppress(ReaderError):  # amdsmi >= 6.4 only
                enum = _call(amdsmi, "amdsmi_get_gpu_enumeration_info", handle, doing="hip id")
                number = _number(enum.get("hip_id"))
                hip_id = None if number is None else int(number)
                hip_uuid = str(enum.get("hip_uuid", "") or "")
            hip_ids.append(hip_id)
            uuid = self._optional(amdsmi, "amdsmi_get_gpu_device_uuid", handle)
            bdf = self._optional(amdsmi, "amdsmi_get_gpu_device_bdf", handle)
            gpus.append(AmdGpu(position, uuid, hip_uuid, bdf, self._name(amdsmi, handle), handle))
        known = [h for h in hip_ids if h is not None]
        if gpus and len(known) == len(gpus) and len(set(known)) == len(known):
            order = sorted(range(len(gpus)), key=lambda p: known[p])
            gpus = [replace(gpus[p], index=i) for i, p in enumerate(order)]
            details["order"] = "HIP order (amdsmi_get_gpu_enumeration_info)"
        else:
            details["order"] = (
                "amdsmi order (PCI bus); HIP may number GPUs differently with this amdsmi "
                "release: select by UUID to be exact"
            )
        return gpus

    def _discover(self, amdsmi: Any, details: dict[str, str]) -> list[GpuDevice]:
        """Enumerate, select and classify GPUs; fills ``details`` for the doctor."""
        details["amdsmi_version"] = str(getattr(amdsmi, "__version__", "unknown"))
        all_gpus = self._enumerate(amdsmi, details)
        details["gpu_count"] = str(len(all_gpus))
        for g in all_gpus:
            details[f"gpu.{g.index}"] = f"{g.name} ({g.uuid or g.bdf})"
        if not all_gpus:
            raise ReaderUnavailable("amdsmi works but found no AMD GPU")
        selected = all_gpus
        if self._gpus is not None:
            origin = "gpus=" + ",".join(self._gpus)
            selected = select_amd_gpus(all_gpus, self._gpus, origin)
        else:
            origins: list[str] = []
            env = self._env()
            for var in VISIBILITY_VARS:  # ROCr filters first; HIP indices count what it left
                value = env.get(var)
                if value is not None:
                    origins.append(f"{var}={value!r}")
                    tokens = visible_device_tokens(value)
                    selected = select_amd_gpus(selected, tokens, " then ".join(origins))
            origin = " then ".join(origins) or "all GPUs (ROCR/HIP_VISIBLE_DEVICES not set)"
        details["selection"] = origin
        if not selected:
            raise ReaderUnavailable(f"{origin} hides every AMD GPU from this process")
        devices = [
            d for d in (self._classify(amdsmi, g, details) for g in selected) if d is not None
        ]
        if not devices:
            raise ReaderUnavailable(
                "no selected AMD GPU reports energy or power: " + details.get("skipped", "")
            )
        return devices

    def _classify(self, amdsmi: Any, gpu: AmdGpu, details: dict[str, str]) -> GpuDevice | None:
        params = {"index": str(gpu.index), "uuid": gpu.uuid, "bdf": gpu.bdf}
        params["power_limit_w"] = "unknown"
        cap_info: Mapping[str, Any] | None = None
        with contextlib.suppress(ReaderError):
            answer = _call(amdsmi, "amdsmi_get_power_cap_info", gpu.handle, doing="power cap")
            cap_info = answer if isinstance(answer, Mapping) else None
            cap_uw = _number(cap_info.get("power_cap")) if cap_info is not None else None
            if cap_uw:
                params["power_limit_w"] = f"{cap_uw / 1e6:g}"  # µW on Linux bare metal (amdsmi.h)
        cap = _power_cap(cap_info)
        params.update(cap.params())
        try:
            energy = _call(amdsmi, "amdsmi_get_energy_count", gpu.handle, doing="energy counter")
            resolution_uj = _number(energy.get("counter_resolution")) or 0.0
            if not 0 < resolution_uj < float("inf"):
                raise AmdSmiNotSupported("energy counter without a resolution")
            # The accumulator is 64-bit: it never wraps in practice, so max_range=0 and a
            # decrease is a driver reload, a GPU reset or a glitch.
            what = f"energy counter of AMD GPU {gpu.index} ({resolution_uj:g} µJ counts)"
            counter = CounterSanity(what, resolution_uj * 1e-6, 0.0, cap)
            self._first_counter_value(counter, _accumulator(energy))
            params["counter_resolution_uj"] = f"{resolution_uj:g}"
            info = DeviceInfo(
                gpu.device_id, "gpu", gpu.name, Provenance.MEASURED, ENERGY_SOURCE, params
            )
            return GpuDevice(gpu, info, cap, counter=counter)
        except ReaderError as exc:
            energy_problem = str(exc)
        try:
            power = _call(amdsmi, "amdsmi_get_power_info", gpu.handle, doing="power")
            key = next((k for k in POWER_KEYS if _number(power.get(k)) is not None), None)
        except ReaderError as exc:
            key, energy_problem = None, f"{energy_problem}; {exc}"
        if key is None:
            skipped = details.get("skipped", "")
            details["skipped"] = f"{skipped}; GPU {gpu.index}: {energy_problem}".lstrip("; ")
            return None
        source = f"amdsmi:amdsmi_get_power_info[{key}]"
        info = DeviceInfo(gpu.device_id, "gpu", gpu.name, Provenance.INTEGRATED, source, params)
        return GpuDevice(gpu, info, cap, power_key=key)

    @staticmethod
    def _optional(amdsmi: Any, fn_name: str, handle: Any) -> str:
        try:
            return str(_call(amdsmi, fn_name, handle, doing=fn_name) or "")
        except ReaderError:
            return ""

    @staticmethod
    def _name(amdsmi: Any, handle: Any) -> str:
        for fn_name, key in (
            ("amdsmi_get_gpu_asic_info", "market_name"),
            ("amdsmi_get_gpu_board_info", "product_name"),
        ):
            with contextlib.suppress(ReaderError):
                value = str(_call(amdsmi, fn_name, handle, doing=fn_name).get(key, "")).strip()
                if value and value != "N/A":
                    return value
        return "AMD GPU"

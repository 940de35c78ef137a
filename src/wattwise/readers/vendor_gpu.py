"""The base of the vendor-GPU readers (NVML, amdsmi): one read loop, one failure policy.

A vendor reader says how to load, initialise and shut down its library, how to discover its GPUs
(each a :class:`GpuDevice`: an energy counter or power samples, and a plausible power cap) and
how to read one raw value; this base does the rest the same way for every vendor:

* ``probe()`` never raises; ``open()`` initialises the library and keeps the devices;
* ``read()`` follows :mod:`wattwise.readers.policy`: a GPU whose call fails, or whose value is a
  glitch (:mod:`wattwise.readers.counter`), is left out with its reason in :attr:`last_errors`;
  ``ReaderError`` only when every GPU failed with an interface error;
* ``close()`` never raises.

Vendor errors are translated into wattwise errors in one place per vendor, by the ``translate``
function given to :func:`vendor_call`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wattwise.errors import ReaderError
from wattwise.readers.base import DeviceInfo, Provenance, Reading
from wattwise.readers.counter import CounterSanity, PowerCap, check_power_w
from wattwise.readers.policy import DeviceGlitch, read_devices

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

Translate = Callable[[Any, BaseException, str], ReaderError]


def vendor_call(
    module: Any,
    fn_name: str,
    *args: Any,
    doing: str,
    translate: Translate,
    missing: type[ReaderError],
    binding: str,
) -> Any:
    """Call ``module.<fn_name>(*args)``; every failure leaves as a translated wattwise error.

    A binding without ``fn_name`` (an old release) raises ``missing`` (the vendor's
    "not supported" error) saying to upgrade ``binding`` (the package name).
    """
    fn = getattr(module, fn_name, None)
    if fn is None:
        raise missing(f"{doing}: this {binding} has no {fn_name}; upgrade it")
    try:
        return fn(*args)
    except Exception as exc:
        raise translate(module, exc, doing) from exc


@dataclass
class GpuDevice:
    """One GPU a vendor reader reports.

    ``gpu`` is the vendor's record of it (with ``index`` and ``handle``); ``counter`` the energy
    counter's sanity state, or None when the GPU gives power samples only; ``power_scale_w``
    watts per raw power unit (NVML reports mW); ``power_key`` which field of the vendor's power
    answer is read (amdsmi); ``cap`` the plausible power that bounds counter deltas and samples.
    """

    gpu: Any
    info: DeviceInfo
    cap: PowerCap
    counter: CounterSanity | None = None
    power_scale_w: float = 1.0
    power_key: str = ""


class VendorGpuReader:
    """Shared reader protocol of the vendor-GPU readers; subclasses fill in the hooks below.

    ``module`` is the vendor binding (imported on first use when None; tests pass a fake of the
    same shape); ``gpus`` selects GPUs by index or UUID (None: the vendor's visibility variables,
    read from ``environ``, default ``os.environ``); ``clock`` gives the monotonic seconds stamped
    on readings. Meant for window boundaries and a modest sampling rate, not a tight loop.
    """

    name = "vendor-gpu"
    #: The vendor's name in messages ("NVIDIA", "AMD").
    vendor = "vendor"

    def __init__(
        self,
        module: Any = None,
        gpus: Sequence[int | str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._module_given = module
        self._gpus = None if gpus is None else [str(g).strip() for g in gpus]
        self._clock = clock
        self._environ = environ
        self._lock = threading.Lock()
        self._mod: Any = None  # the binding, set while open
        self._devices: list[GpuDevice] = []
        #: device_id -> why that GPU is missing from the last ``read()``.
        self.last_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ hooks
    def _import(self) -> Any:
        """Import the vendor binding; raise ReaderUnavailable with the install hint."""
        raise NotImplementedError

    def _init(self, mod: Any) -> None:
        raise NotImplementedError

    def _shutdown(self, mod: Any) -> None:
        raise NotImplementedError

    def _discover(self, mod: Any, details: dict[str, str]) -> list[GpuDevice]:
        """Enumerate, select and classify GPUs; fill ``details`` for the doctor."""
        raise NotImplementedError

    def _read_counter(self, mod: Any, dev: GpuDevice) -> object:
        """The raw energy counter value of ``dev`` (in its counter's units)."""
        raise NotImplementedError

    def _read_power(self, mod: Any, dev: GpuDevice) -> object:
        """The raw power value of ``dev`` (watts x ``dev.power_scale_w``)."""
        raise NotImplementedError

    def _counter_label(self) -> str:
        """How probe() names the energy counter ("the total-energy counter")."""
        return "the energy counter"

    # ------------------------------------------------------------------ protocol
    def probe(self) -> ProbeResult:
        """Whether the vendor library works here and the GPUs it would report; never raises."""
        from wattwise.readers.probe import ProbeResult  # not created at start-up: see there

        details: dict[str, str] = {}
        try:
            mod = self._module()
            self._init(mod)
            try:
                devices = self._discover(mod, details)
            finally:
                with contextlib.suppress(Exception):  # shutting down is best effort
                    self._shutdown(mod)
        except Exception as exc:  # probe() never raises, whatever the binding does
            return ProbeResult(self.name, False, str(exc) or type(exc).__name__, (), details)
        measured = sum(1 for d in devices if d.info.provenance is Provenance.MEASURED)
        reason = (
            f"{len(devices)} {self.vendor} GPU(s): {measured} with {self._counter_label()} "
            f"(measured), {len(devices) - measured} with power samples (integrated)"
        )
        return ProbeResult(self.name, True, reason, tuple(d.info for d in devices), details)

    def open(self) -> list[DeviceInfo]:
        """Initialise the library and select GPUs; energy counts from now.

        Raises :class:`~wattwise.errors.ReaderUnavailable` (no library, driver or GPU) or
        :class:`~wattwise.errors.ConfigError` (a selection that names no visible GPU).
        """
        with self._lock:
            if self._mod is not None:
                return [d.info for d in self._devices]
            mod = self._module()
            self._init(mod)
            try:
                self._devices = self._discover(mod, {})
            except BaseException:
                with contextlib.suppress(Exception):
                    self._shutdown(mod)
                raise
            self._mod = mod
            self.last_errors = {}
            return [d.info for d in self._devices]

    def read(self) -> list[Reading]:
        """One reading per working GPU: ``energy_j`` since ``open()`` (measured) or ``power_w``
        (integrated). Raises ReaderError when not open or when every GPU's call fails."""
        with self._lock:
            mod = self._mod
            if mod is None:
                raise ReaderError(f"the {self.name} reader is not open")
            outcome = read_devices(
                self._devices, lambda d: d.info.device_id, lambda d: self._read_one(mod, d)
            )
            self.last_errors = outcome.errors
            return outcome.result()

    def close(self) -> None:
        """Shut the library down; never raises."""
        with self._lock:
            mod, self._mod = self._mod, None
            self._devices = []
            if mod is None:
                return
            with contextlib.suppress(Exception):  # close() never raises
                self._shutdown(mod)

    # ------------------------------------------------------------------ internals
    def _module(self) -> Any:
        return self._module_given if self._module_given is not None else self._import()

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _read_one(self, mod: Any, dev: GpuDevice) -> Reading:
        device_id = dev.info.device_id
        t0 = self._clock()
        if dev.counter is not None:
            raw = self._read_counter(mod, dev)
            t = (t0 + self._clock()) / 2  # the read itself takes milliseconds
            step = dev.counter.update(raw, t)
            if step.energy_j is None:
                raise DeviceGlitch(step.reason)
            return Reading(device_id, t, energy_j=step.energy_j, rebased=step.rebased)
        raw = self._read_power(mod, dev)
        t = (t0 + self._clock()) / 2
        what = f"power of {self.vendor} GPU {dev.gpu.index}"
        if dev.power_key:
            what += f" ({dev.power_key})"
        power_w, reason = check_power_w(raw, dev.power_scale_w, dev.cap, what)
        if power_w is None:
            raise DeviceGlitch(reason)
        return Reading(device_id, t, power_w=power_w)

    def _first_counter_value(self, counter: CounterSanity, raw: object) -> None:
        """Take the counter's zero at discovery (a glitching first value waits for a good one)."""
        counter.update(raw, self._clock())

"""Types shared by every hardware reader: provenance, devices, readings and the Reader protocol.

A reader talks to one hardware interface (Linux powercap, NVML, amdsmi, a CPU power model).
Its contract:

* ``probe()`` never raises. It says whether the reader can be used here and, if not, why and how
  to fix it.
* ``open()`` prepares the reader and returns the devices it will report; it raises
  :class:`~wattwise.errors.ReaderUnavailable` when it cannot. It takes no sample that needs
  waiting (the first ``read()`` is the baseline) and is idempotent: on an open reader it returns
  the same devices and keeps the counters' state (discovery opens the readers it chooses, and
  the tracker opens them again).
* ``read()`` returns one :class:`Reading` per device. Counter devices report ``energy_j``: a
  cumulative energy in joules since ``open()``, already corrected for counter wrap-around, so a
  window's energy is the difference of two reads. Devices without a counter report ``power_w``
  (an instantaneous sample) and the tracker integrates them. Raw values pass the checks of
  :mod:`wattwise.readers.counter` (counter range, plausible power); a device that fails or
  glitches is left out, with its reason in the reader's ``last_errors[device_id]``
  (:mod:`wattwise.readers.policy`). It may raise :class:`~wattwise.errors.ReaderError` when the
  whole reader is down; the tracker records either as a gap.
* ``close()`` releases the interface and never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from wattwise.core.provenance import PROVENANCE_RANK, Provenance, weakest

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

__all__ = [
    "PROVENANCE_RANK",
    "DeviceInfo",
    "ProbeResult",
    "Provenance",
    "Reader",
    "Reading",
    "weakest",
]


@dataclass(frozen=True)
class DeviceInfo:
    """One energy-reporting device.

    ``device_id`` is unique within a run, e.g. ``rapl:package-0``, ``nvml:GPU-3f2a...``,
    ``cpu-model:machine``. ``kind`` is one of ``cpu``, ``dram``, ``psys``, ``gpu``, ``memory``.
    ``provenance`` is what this device's numbers will be: ``measured`` for an energy counter,
    ``integrated`` for power samples, ``estimated`` for a model. ``source`` names the interface
    (``powercap:/sys/class/powercap/intel-rapl:0``, ``nvml:nvmlDeviceGetTotalEnergyConsumption``).
    ``params`` holds the parameters of a model or identifying details (TDP, UUID, ...).
    """

    device_id: str
    kind: str
    name: str
    provenance: Provenance
    source: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """One read of one device at monotonic time ``timestamp_s``.

    Exactly one of ``energy_j`` (cumulative since the reader was opened, wrap-corrected) and
    ``power_w`` (instantaneous) is normally set.

    ``rebased`` is True when the reader could not reconcile this counter value with the device's
    previous good reading (a reset, or a glitch it could not explain as a wrap): the energy
    between that previous good reading and this one is unknown, and ``energy_j`` continues from
    the previous good cumulative value (no jump). The tracker then counts that interval as
    missing (a gap with an ``estimated`` component). While a counter glitches, a reader omits
    the device from its readings and puts the reason in ``last_errors[device_id]``.
    """

    device_id: str
    timestamp_s: float
    energy_j: float | None = None
    power_w: float | None = None
    rebased: bool = False


@runtime_checkable
class Reader(Protocol):
    """A source of per-device energy or power readings. See the module docstring."""

    name: str

    def probe(self) -> ProbeResult: ...

    def open(self) -> list[DeviceInfo]: ...

    def read(self) -> list[Reading]: ...

    def close(self) -> None: ...


def __getattr__(name: str) -> object:
    """``ProbeResult`` (defined in :mod:`wattwise.readers.probe`), imported on first use: a
    tracker never probes, so its start does not create that dataclass."""
    if name == "ProbeResult":
        from wattwise.readers.probe import ProbeResult

        return ProbeResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

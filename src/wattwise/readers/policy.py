"""The one failure policy of every multi-device reader (RAPL zones, NVML and AMD GPUs).

Per read, each device gives a :class:`~wattwise.readers.base.Reading` or is left out:

* an *interface error* (the file or call failed: :class:`~wattwise.errors.ReaderError`, or any
  other exception a vendor binding raises, translated here into one readable line), or
* a *glitch* (:class:`DeviceGlitch`: the interface answered, with a value that cannot be true;
  see :mod:`wattwise.readers.counter`).

Either way the device's reason goes into the reader's ``last_errors[device_id]`` and the others
are still returned: the tracker opens a gap for each missing device with that reason. ``read()``
raises :class:`ReaderError` only when no device gave a reading and every one of them failed with
an interface error (then the whole reader is down and the tracker notes it once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from wattwise.errors import ReaderError
from wattwise.readers.base import Reading

T = TypeVar("T")


class DeviceGlitch(ReaderError):
    """A device answered with an implausible value (NaN, negative, garbage, an impossible
    counter jump); it is left out of this read, the reader itself works."""


@dataclass
class ReadRound:
    """The outcome of one read over a reader's devices."""

    readings: list[Reading] = field(default_factory=list)
    #: device_id -> why the device is missing from ``readings``.
    errors: dict[str, str] = field(default_factory=dict)
    #: interface errors (not glitches), in device order.
    failures: list[ReaderError] = field(default_factory=list)

    def result(self) -> list[Reading]:
        """The readings; raises when nothing was read and every device had an interface error."""
        if self.readings or not self.failures or len(self.failures) < len(self.errors):
            return self.readings
        if len(self.failures) == 1:
            raise self.failures[0]
        raise ReaderError("; ".join(self.errors.values())) from self.failures[0]


def read_devices(
    devices: Iterable[T], device_id: Callable[[T], str], read_one: Callable[[T], Reading]
) -> ReadRound:
    """Read every device with ``read_one``; sort what fails into errors. Never raises."""
    out = ReadRound()
    for dev in devices:
        dev_id = device_id(dev)
        try:
            out.readings.append(read_one(dev))
        except DeviceGlitch as exc:
            out.errors[dev_id] = str(exc)
        except ReaderError as exc:
            out.errors[dev_id] = str(exc)
            out.failures.append(exc)
        except Exception as exc:  # a binding's own exception: one line, never raw
            err = ReaderError(f"reading {dev_id} failed: {type(exc).__name__}: {exc}")
            err.__cause__ = exc
            out.errors[dev_id] = str(err)
            out.failures.append(err)
    return out

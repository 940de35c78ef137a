"""Source code shared by the fault tests' child processes (Python run with ``-c``)."""

from __future__ import annotations

#: A Python-API recorder's imports and its reader: a 100 W fake energy counter on the real
#: monotonic clock (``Counter100W``); ``Tracker`` is :func:`wattwise.api.tracker`.
COUNTER_100W = """
import errno, json, sys, time
from wattwise.readers.base import DeviceInfo, Provenance, Reading
from wattwise.api import tracker as Tracker

class Counter100W:
    name = "fake-100w"
    def open(self):
        self.t0 = time.monotonic()
        return [DeviceInfo("fake:gpu0", "gpu", "Fake GPU", Provenance.MEASURED, "fake:counter")]
    def read(self):
        t = time.monotonic()
        return [Reading("fake:gpu0", t, energy_j=100.0 * (t - self.t0))]
    def close(self):
        pass
"""

#: ``fill_or_flag(arg)``: ``flag:PATH`` creates PATH (the dbapi fake's flag), ``fill:PATH``
#: writes PATH until the filesystem is full (ENOSPC), anything else does nothing.
FILL_OR_FLAG = """
import errno

def fill_or_flag(arg):
    how, _, target = arg.partition(":")
    if how == "flag":
        open(target, "w").close()
    if how == "fill":
        with open(target, "ab", buffering=0) as f:
            for size in (65536, 4096, 1):
                try:
                    while True:
                        f.write(b"x" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
        return True
    return False
"""

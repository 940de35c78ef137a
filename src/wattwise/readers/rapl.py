"""Linux powercap / RAPL reader: CPU package, DRAM and platform (psys) energy counters.

Provenance: ``measured``. Every number comes from a hardware energy counter exposed by the
kernel's powercap framework (``<root>/intel-rapl:N[:M]/energy_uj``, microjoules), read at the
caller's request and corrected for wrap-around with the zone's ``max_energy_range_uj``.

The zones read (package, DRAM, psys; sub-domains and MMIO copies left out) are found by
:func:`~wattwise.readers.rapl_scan.scan`; :mod:`wattwise.readers.rapl_scan` describes the sysfs
layouts handled. Each raw ``energy_uj`` passes the counter checks of
:mod:`wattwise.readers.counter` (range, plausible power from the zone's
``constraint_*_max_power_uw``); a zone that fails or glitches is left out of ``read()`` with its
reason in ``last_errors`` (:mod:`wattwise.readers.policy`).

Permissions: since Linux 5.10 (CVE-2020-8694, the "Platypus" power side channel, kernel commit
949dd0104c49) ``energy_uj`` is mode 0400, root only; ``max_energy_range_uj`` is 0400 too on
current kernels. :func:`permission_fix` gives the exact commands to allow reading.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Reading
from wattwise.readers.counter import CounterSanity
from wattwise.readers.policy import DeviceGlitch, read_devices
from wattwise.readers.presence import DEFAULT_POWERCAP_ROOT, ROOT_ENV_VAR, powercap_root
from wattwise.readers.rapl_scan import (
    RaplScan,
    RaplZone,
    ReadFile,
    Unreadable,
    read_attr,
    read_text,
    scan,
)

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult


def default_root() -> Path:
    """The powercap root: ``$WATTWISE_POWERCAP_ROOT`` when set and non-empty, else sysfs."""
    return Path(powercap_root())


def permission_fix(root: Path | str = DEFAULT_POWERCAP_ROOT) -> str:
    """The exact ways to let a non-root user read the RAPL counters under ``root``.

    The udev rule runs ``chmod`` on each powercap zone as the kernel adds it (``%p`` is the
    device path under ``/sys``; ``KERNEL=="intel-rapl*:*"`` matches zones of both the MSR and the
    MMIO control types and not the control-type directories, which have no counter). Making the
    counters world-readable re-opens the Platypus side channel to local users; on shared machines
    prefer a group (``chgrp <group>`` then ``chmod g+r``) in the same rule.
    """
    files = f"{root}/intel-rapl*:*/energy_uj {root}/intel-rapl*:*/max_energy_range_uj"
    return (
        "since Linux 5.10 (CVE-2020-8694) the RAPL energy counters are readable by root only. "
        f"Fix until the next reboot: `sudo chmod a+r {files}`. "
        "Fix for good: put the line "
        '`ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl*:*", '
        'RUN+="/bin/chmod a+r /sys%p/energy_uj /sys%p/max_energy_range_uj"` '
        "in /etc/udev/rules.d/99-wattwise-powercap.rules, then run "
        "`sudo udevadm control --reload-rules && "
        "sudo udevadm trigger --subsystem-match=powercap --action=add`. "
        "Or run wattwise as root (in a rootless container, root inside is not root on the host)."
    )


def _unavailable_reason(found: RaplScan) -> str:
    if found.error:
        return found.error
    if found.denied:
        return f"RAPL counters under {found.root} are not readable: " + permission_fix(found.root)
    skipped = "; ".join(f"{zone}: {why}" for zone, why in found.skipped.items())
    return f"no readable package, dram or psys RAPL zone under {found.root} ({skipped})"


class RaplReader:
    """Reads CPU package, DRAM and psys energy from Linux powercap (provenance ``measured``).

    ``root`` is the powercap class directory (default ``$WATTWISE_POWERCAP_ROOT``, else
    ``/sys/class/powercap``). ``clock`` gives the monotonic timestamps of readings, in seconds.
    ``read_file`` reads one sysfs attribute as text; it is a parameter so that tests can inject
    failures such as a permission error even when they run as root.
    """

    name = "rapl"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        read_file: ReadFile | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else default_root()
        self._clock = clock
        self._read_file: ReadFile = read_file if read_file is not None else read_text
        self._zones: list[RaplZone] = []
        self._counters: dict[str, CounterSanity] = {}
        self._lock = threading.Lock()  # the sampler thread and window boundaries may both read
        #: device_id -> why that zone is missing from the last ``read()``.
        self.last_errors: dict[str, str] = {}

    def probe(self) -> ProbeResult:
        """Whether RAPL can be read here, why not and the exact fix; never raises."""
        from wattwise.readers.probe import ProbeResult  # not created at start-up: see there

        try:
            found = scan(self.root, self._read_file)
            details = {"root": str(self.root)}
            details.update({f"skipped {zone}": why for zone, why in found.skipped.items()})
            devices = tuple(z.device_info() for z in found.zones)
            if not found.zones:
                return ProbeResult(self.name, False, _unavailable_reason(found), (), details)
            reason = "reading " + ", ".join(z.device_id for z in found.zones)
            if found.denied:
                details["fix"] = permission_fix(self.root)
                reason += "; not readable (permission): " + ", ".join(sorted(found.denied))
            return ProbeResult(self.name, True, reason, devices, details)
        except Exception as exc:  # the contract: probe() never raises, whatever the tree holds
            return ProbeResult(self.name, False, f"unexpected error scanning {self.root}: {exc!r}")

    def open(self) -> list[DeviceInfo]:
        """Scan the tree, take each counter's starting value and return the devices.

        Raises :class:`ReaderUnavailable` (with the fix, for a permission problem) when no zone
        can be read. On an open reader, returns the same devices and keeps the counters' zero.
        """
        with self._lock:
            if self._zones:
                return [z.device_info() for z in self._zones]
        found = scan(self.root, self._read_file)
        if not found.zones:
            raise ReaderUnavailable(_unavailable_reason(found))
        with self._lock:
            self._zones = found.zones
            # RAPL counters tick about every millisecond and wrap at max_energy_range_uj
            # (~262 kJ for a package); the kernel's range is one energy unit (<= 61 uJ) short
            # of the true modulus, an error far below one reading's resolution per wrap.
            self._counters = {
                z.device_id: CounterSanity(
                    f"energy_uj of {z.domain} ({z.zone})",
                    1e-6,
                    float(z.max_energy_range_uj),
                    z.cap,
                )
                for z in found.zones
            }
            try:
                self._read_locked()  # the first value of each counter is the zero of energy_j
            except ReaderError as exc:
                self._zones, self._counters = [], {}
                raise ReaderUnavailable(str(exc)) from exc
        return [z.device_info() for z in found.zones]

    def read(self) -> list[Reading]:
        """One reading per zone: joules since ``open()``, wrap-corrected (``measured``).

        A zone whose counter cannot be read, or reads a glitch (not an integer, out of
        ``[0, max_energy_range_uj]``, or a jump no plausible power explains), is left out with
        its reason in :attr:`last_errors`. Raises :class:`ReaderError` only when no zone can be
        read at all (the tracker records a gap).
        """
        with self._lock:
            if not self._zones:
                raise ReaderError("RaplReader.read() called before open()")
            return self._read_locked()

    def _read_locked(self) -> list[Reading]:
        outcome = read_devices(self._zones, lambda z: z.device_id, self._read_zone)
        self.last_errors = outcome.errors
        return outcome.result()

    def _read_zone(self, zone: RaplZone) -> Reading:
        path = zone.path / "energy_uj"
        try:
            text = read_attr(self._read_file, path)
        except Unreadable as exc:
            message = f"RAPL read failed: {zone.zone} ({zone.domain}): {exc}"
            if exc.denied:
                message += "; " + permission_fix(self.root)
            raise ReaderError(message) from exc
        timestamp_s = self._clock()
        try:
            raw_uj = int(text)
        except ValueError:
            raise DeviceGlitch(
                f"energy_uj of {zone.domain} ({zone.zone}) is not an integer: {text[:40]!r}; "
                "treated as a glitch"
            ) from None
        step = self._counters[zone.device_id].update(raw_uj, timestamp_s)
        if step.energy_j is None:
            raise DeviceGlitch(step.reason)
        return Reading(zone.device_id, timestamp_s, energy_j=step.energy_j, rebased=step.rebased)

    def close(self) -> None:
        """Forget the zones and counter state; never raises."""
        with self._lock:
            self._zones = []
            self._counters = {}


__all__ = [
    "DEFAULT_POWERCAP_ROOT",
    "ROOT_ENV_VAR",
    "RaplReader",
    "RaplScan",
    "RaplZone",
    "default_root",
    "permission_fix",
    "scan",
]

"""Linux powercap / RAPL reader: CPU package, DRAM and platform (psys) energy counters.

Provenance: ``measured``. Every number comes from a hardware energy counter exposed by the
kernel's powercap framework (``<root>/intel-rapl:N[:M]/energy_uj``, microjoules), read at the
caller's request and corrected for wrap-around with the zone's ``max_energy_range_uj``.

Layout handled (Documentation/ABI/testing/sysfs-class-powercap and the ``intel_rapl_*`` drivers):

* ``/sys/class/powercap`` holds symlinks to ``/sys/devices/virtual/powercap/<control type>/...``:
  the control type itself (``intel-rapl``), every top-level zone (``intel-rapl:0``) *and* every
  sub-zone (``intel-rapl:0:0``), which also appears as ``intel-rapl:0/intel-rapl:0:0``. A zone's
  directory name is unique across the class, so zones are identified by it and seen once.
* Zone ``name`` files: ``package-N`` (or ``package-N-die-M`` on multi-die parts), ``core``,
  ``uncore``, ``dram``, ``psys``. AMD Zen parts use the same ``intel-rapl`` control type
  (supported since Linux 5.8) with ``package-N`` and a ``core`` sub-zone, and no DRAM domain.
* ``core`` and ``uncore`` are sub-domains of their package (package = core + uncore + rest), so
  they are skipped: adding them would count the same joules twice.
* ``intel-rapl-mmio:N`` (processor_thermal_rapl, on client parts) is a second interface to the
  *same* package (and sometimes psys) counter as the MSR one; copies are matched by their
  ``name`` and only one is kept: the MSR ``intel-rapl`` copy, or the MMIO copy when the MSR one
  is missing or unreadable. The TPMI driver (Granite Rapids and later) registers as
  ``intel-rapl`` itself.
* ``psys`` is the whole platform (SoC + DRAM + more, as reported by the platform). It *contains*
  the package and DRAM domains: its device params say ``overlaps`` so that a total does not add
  it to them.
* The zone ``enabled`` file is about *power capping* ("enable/disable power capping at power zone
  level" in the ABI document), not about energy reporting: a zone with ``enabled`` = 0 still
  counts energy (DRAM zones commonly read 0). It is kept and reported as
  ``power_limit_enabled`` in the device params. The kernel only registers zones whose energy
  counter works, so a zone that exists and whose ``energy_uj`` reads is measured.

Permissions: since Linux 5.10 (CVE-2020-8694, the "Platypus" power side channel, kernel commit
949dd0104c49) ``energy_uj`` is mode 0400, root only; ``max_energy_range_uj`` is 0400 too on
current kernels. :func:`permission_fix` gives the exact commands to allow reading.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reading
from wattwise.readers.counter import RAPL_MAX_POWER_MARGIN, CounterSanity, PowerCap, stated_cap
from wattwise.readers.policy import DeviceGlitch, read_devices

DEFAULT_POWERCAP_ROOT = "/sys/class/powercap"
ROOT_ENV_VAR = "WATTWISE_POWERCAP_ROOT"

#: A RAPL zone directory: ``<control type>:<n>[:<m>...]`` where the control type mentions rapl
#: (``intel-rapl``, ``intel-rapl-mmio``).
_ZONE_RE = re.compile(r"^(?P<ctype>[a-z][a-z0-9-]*rapl[a-z0-9-]*)(?P<ids>(?::\d+)+)$")
#: A RAPL control type directory (``intel-rapl``), holding its zones when the root given is
#: ``/sys/devices/virtual/powercap`` rather than the flat ``/sys/class/powercap``.
_CTYPE_RE = re.compile(r"^[a-z][a-z0-9-]*rapl[a-z0-9-]*$")
_PACKAGE_RE = re.compile(r"^package-(?P<suffix>\d+(?:-die-\d+)?)$")
#: The MSR interface (also the TPMI one); preferred over any other copy of the same domain.
_PREFERRED_CTYPE = "intel-rapl"
#: Sub-domains contained in their package: never added to it.
_SUBDOMAINS = frozenset({"core", "uncore"})
#: Sysfs zones are nested at most two levels deep (package / sub-domain); a bound guards loops.
_MAX_DEPTH = 3

ReadFile = Callable[[Path], str]


def _read_text(path: Path) -> str:
    """Read a small sysfs attribute (the default ``read_file``)."""
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def default_root() -> Path:
    """The powercap root: ``$WATTWISE_POWERCAP_ROOT`` when set and non-empty, else sysfs."""
    return Path(os.environ.get(ROOT_ENV_VAR) or DEFAULT_POWERCAP_ROOT)


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


@dataclass(frozen=True)
class RaplZone:
    """One kept powercap zone and the device it reports.

    ``path`` is the zone directory as found under the root (the shallowest path, i.e. the
    ``/sys/class/powercap/<zone>`` symlink when present); ``zone`` its directory name
    (``intel-rapl:0:1``); ``domain`` the content of its ``name`` file (``package-0``, ``dram``,
    ``psys``).
    """

    path: Path
    zone: str
    control_type: str
    domain: str
    device_id: str
    kind: str
    label: str
    max_energy_range_uj: int
    power_limit_enabled: str
    notes: tuple[tuple[str, str], ...] = ()
    #: The highest ``constraint_*_max_power_uw`` of the zone (0: none stated).
    max_power_uw: int = 0

    @property
    def cap(self) -> PowerCap:
        """The plausible power that bounds this zone's counter deltas."""
        stated_w = self.max_power_uw / 1e6 if self.max_power_uw > 0 else None
        what = "the zone's constraint_*_max_power_uw"
        return stated_cap(self.kind, stated_w, RAPL_MAX_POWER_MARGIN, what)

    def device_info(self) -> DeviceInfo:
        """The :class:`DeviceInfo` this zone reports as (``measured``, ``powercap:<path>``)."""
        params = {
            "zone": self.zone,
            "domain": self.domain,
            "control_type": self.control_type,
            "interface": "MSR" if self.control_type == _PREFERRED_CTYPE else "MMIO",
            "max_energy_range_uj": str(self.max_energy_range_uj),
            "power_limit_enabled": self.power_limit_enabled,
        }
        params.update(self.cap.params())
        params.update(self.notes)
        return DeviceInfo(
            device_id=self.device_id,
            kind=self.kind,
            name=self.label,
            provenance=Provenance.MEASURED,
            source=f"powercap:{self.path}",
            params=params,
        )


@dataclass
class RaplScan:
    """What a scan of a powercap tree found.

    ``zones``: the zones to read, one per domain. ``skipped``: zone name -> why it is not read.
    ``denied``: domains whose counter exists but cannot be read for lack of permission.
    ``error``: why nothing could be scanned at all (missing root), else empty.
    """

    root: Path
    zones: list[RaplZone] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class _Candidate:
    path: Path
    zone: str
    control_type: str
    ids: tuple[int, ...]


def _find_zone_dirs(root: Path) -> list[_Candidate]:
    """Every RAPL zone directory under ``root``, each zone once, shallowest path first."""
    found: dict[str, _Candidate] = {}
    queue: list[tuple[Path, int]] = [(root, 0)]
    while queue:  # breadth first, so the class-level symlink path wins over nested copies
        directory, depth = queue.pop(0)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows the sysfs symlinks
            except OSError:
                continue
            if not is_dir:
                continue
            match = _ZONE_RE.match(entry.name)
            if match is not None:
                if entry.name not in found:
                    ids = tuple(int(i) for i in match["ids"].split(":")[1:])
                    found[entry.name] = _Candidate(
                        Path(entry.path), entry.name, match["ctype"], ids
                    )
                if depth < _MAX_DEPTH:
                    queue.append((Path(entry.path), depth + 1))
            elif depth == 0 and _CTYPE_RE.match(entry.name):
                queue.append((Path(entry.path), depth + 1))
    # The MSR copy of a domain first, so that it is the one kept when MMIO duplicates it.
    return sorted(
        found.values(), key=lambda c: (c.control_type != _PREFERRED_CTYPE, c.control_type, c.ids)
    )


class _Unreadable(Exception):
    """A zone attribute could not be read or parsed; ``denied`` when for lack of permission."""

    def __init__(self, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied


def _read_attr(read_file: ReadFile, path: Path) -> str:
    try:
        return read_file(path).strip()
    except PermissionError as exc:
        raise _Unreadable(f"{path.name}: permission denied", denied=True) from exc
    except FileNotFoundError as exc:
        raise _Unreadable(f"{path.name} is missing") from exc
    except OSError as exc:  # EIO / ENODATA from a driver, a dangling symlink, ...
        raise _Unreadable(f"{path.name} unreadable: {exc.strerror or exc}") from exc


def _read_uj(read_file: ReadFile, path: Path) -> int:
    text = _read_attr(read_file, path)
    try:
        value = int(text)
    except ValueError as exc:
        raise _Unreadable(f"{path.name} is not an integer: {text[:40]!r}") from exc
    if value < 0:
        raise _Unreadable(f"{path.name} is negative: {value}")
    return value


_MAX_POWER_RE = re.compile(r"^constraint_\d+_max_power_uw$")


def _max_power_uw(read_file: ReadFile, zone_dir: Path) -> int:
    """The highest ``constraint_N_max_power_uw`` of a zone, 0 when none is stated or readable.

    The kernel exposes one per power-limit constraint (long_term, short_term, peak_power) when
    the part reports a maximum (PKG_POWER_INFO); DRAM and psys zones usually have none, and
    some parts report 0.
    """
    try:
        names = sorted(e.name for e in os.scandir(zone_dir) if _MAX_POWER_RE.match(e.name))
    except OSError:
        return 0
    best = 0
    for name in names:
        try:
            best = max(best, _read_uj(read_file, zone_dir / name))
        except _Unreadable:
            continue
    return best


def _classify(domain: str, cand: _Candidate, names: dict[str, str]) -> tuple[str, str, str]:
    """``(device_id, kind, label)`` for a kept domain; raises _Unreadable to skip it."""
    package = _PACKAGE_RE.match(domain)
    if package is not None:
        return f"rapl:{domain}", "cpu", f"CPU {domain} (RAPL)"
    if domain.startswith("psys"):
        return f"rapl:{domain}", "psys", f"platform {domain} (RAPL)"
    if domain == "dram":
        # The DRAM zone is a sub-zone of its package: take the package's index from the parent
        # zone's name (intel-rapl:1:0 under package-1 -> dram-1); fall back to the zone index.
        parent = names.get(cand.zone.rsplit(":", 1)[0], "") if len(cand.ids) > 1 else ""
        parent_match = _PACKAGE_RE.match(parent)
        suffix = parent_match["suffix"] if parent_match is not None else str(cand.ids[0])
        return f"rapl:dram-{suffix}", "dram", f"DRAM of package-{suffix} (RAPL)"
    if domain in _SUBDOMAINS:
        raise _Unreadable(f"{domain}: sub-domain of its package, already counted in it")
    raise _Unreadable(f"unknown RAPL domain {domain!r}")


def scan(root: Path | str, read_file: ReadFile = _read_text) -> RaplScan:
    """Find the RAPL zones under ``root`` worth reading and test-read each counter once.

    Never raises for a malformed tree: what cannot be used lands in ``skipped``, ``denied`` or
    ``error``.
    """
    root = Path(root)
    result = RaplScan(root=root)
    if not root.is_dir():
        result.error = (
            f"no powercap tree at {root} (not Linux, RAPL driver intel_rapl_msr not loaded, or a "
            f"VM / container without RAPL; set {ROOT_ENV_VAR} if sysfs is mounted elsewhere)"
        )
        return result
    candidates = _find_zone_dirs(root)
    if not candidates:
        result.error = f"no RAPL zones (intel-rapl:*) under {root}"
        return result
    names: dict[str, str] = {}
    for cand in candidates:
        try:
            names[cand.zone] = _read_attr(read_file, cand.path / "name")
        except _Unreadable as exc:
            result.skipped[cand.zone] = str(exc)

    chosen: dict[str, RaplZone] = {}  # device_id -> zone; candidates come MSR first
    denied_by_device: dict[str, tuple[str, str]] = {}  # device_id -> (zone, why)
    subdomains: dict[str, list[str]] = {}
    for cand in candidates:
        if cand.zone not in names:
            continue
        domain = names[cand.zone]
        try:
            device_id, kind, label = _classify(domain, cand, names)
        except _Unreadable as exc:
            result.skipped[cand.zone] = str(exc)
            if domain in _SUBDOMAINS and len(cand.ids) > 1:
                parent = cand.zone.rsplit(":", 1)[0]
                subdomains.setdefault(parent, []).append(f"{domain} ({cand.zone})")
            continue
        if device_id in chosen:
            # Same domain through a second interface (MMIO copy of the MSR counter) or a second
            # path to one zone: reading both would count the same joules twice.
            kept = chosen[device_id]
            result.skipped[cand.zone] = f"{domain}: duplicate of {kept.zone}, which is read"
            continue
        try:
            max_range_uj = _read_uj(read_file, cand.path / "max_energy_range_uj")
            _read_uj(read_file, cand.path / "energy_uj")
        except _Unreadable as exc:
            if exc.denied:
                denied_by_device.setdefault(device_id, (cand.zone, f"{domain}: {exc}"))
            else:
                result.skipped[cand.zone] = f"{domain}: {exc}"
            continue
        try:
            enabled = _read_attr(read_file, cand.path / "enabled")
        except _Unreadable:
            enabled = "unknown"
        max_power_uw = _max_power_uw(read_file, cand.path)
        chosen[device_id] = RaplZone(
            path=cand.path,
            zone=cand.zone,
            control_type=cand.control_type,
            domain=domain,
            device_id=device_id,
            kind=kind,
            label=label,
            max_energy_range_uj=max_range_uj,
            power_limit_enabled=enabled,
            max_power_uw=max_power_uw,
        )

    contained = sorted(z.device_id for z in chosen.values() if z.kind in ("cpu", "dram"))
    for device_id, zone in chosen.items():
        notes: list[tuple[str, str]] = []
        if zone.zone in subdomains:
            notes.append(
                ("skipped_subdomains", ", ".join(subdomains[zone.zone]) + " (contained in it)")
            )
        if zone.kind == "psys" and contained:
            notes.append(("overlaps", ",".join(contained)))
        if notes:
            chosen[device_id] = replace(zone, notes=tuple(notes))
    result.zones = list(chosen.values())
    for device_id, (zone_name, why) in denied_by_device.items():
        # A domain readable through one interface is fine even if another copy was denied.
        if device_id not in chosen:
            result.denied[device_id] = f"{zone_name} {why}"
            result.skipped[zone_name] = why
    return result


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
        self._read_file: ReadFile = read_file if read_file is not None else _read_text
        self._zones: list[RaplZone] = []
        self._counters: dict[str, CounterSanity] = {}
        self._lock = threading.Lock()  # the sampler thread and window boundaries may both read
        #: device_id -> why that zone is missing from the last ``read()``.
        self.last_errors: dict[str, str] = {}

    def probe(self) -> ProbeResult:
        """Whether RAPL can be read here, why not and the exact fix; never raises."""
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
        can be read.
        """
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
            text = _read_attr(self._read_file, path)
        except _Unreadable as exc:
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

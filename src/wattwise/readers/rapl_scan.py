"""Finding the RAPL zones of a Linux powercap tree worth reading (the RAPL reader's scan).

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
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.readers.counter import RAPL_MAX_POWER_MARGIN, PowerCap, stated_cap
from wattwise.readers.presence import no_powercap_tree

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


def read_text(path: Path) -> str:
    """Read a small sysfs attribute (the default ``read_file``)."""
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


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


class Unreadable(Exception):
    """A zone attribute could not be read or parsed; ``denied`` when for lack of permission."""

    def __init__(self, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied


def read_attr(read_file: ReadFile, path: Path) -> str:
    try:
        return read_file(path).strip()
    except PermissionError as exc:
        raise Unreadable(f"{path.name}: permission denied", denied=True) from exc
    except FileNotFoundError as exc:
        raise Unreadable(f"{path.name} is missing") from exc
    except OSError as exc:  # EIO / ENODATA from a driver, a dangling symlink, ...
        raise Unreadable(f"{path.name} unreadable: {exc.strerror or exc}") from exc


def read_uj(read_file: ReadFile, path: Path) -> int:
    text = read_attr(read_file, path)
    try:
        value = int(text)
    except ValueError as exc:
        raise Unreadable(f"{path.name} is not an integer: {text[:40]!r}") from exc
    if value < 0:
        raise Unreadable(f"{path.name} is negative: {value}")
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
            best = max(best, read_uj(read_file, zone_dir / name))
        except Unreadable:
            continue
    return best


def _classify(domain: str, cand: _Candidate, names: dict[str, str]) -> tuple[str, str, str]:
    """``(device_id, kind, label)`` for a kept domain; raises Unreadable to skip it."""
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
        raise Unreadable(f"{domain}: sub-domain of its package, already counted in it")
    raise Unreadable(f"unknown RAPL domain {domain!r}")


def scan(root: Path | str, read_file: ReadFile = read_text) -> RaplScan:
    """Find the RAPL zones under ``root`` worth reading and test-read each counter once.

    Never raises for a malformed tree: what cannot be used lands in ``skipped``, ``denied`` or
    ``error``.
    """
    root = Path(root)
    result = RaplScan(root=root)
    if not root.is_dir():
        result.error = no_powercap_tree(root)
        return result
    candidates = _find_zone_dirs(root)
    if not candidates:
        result.error = f"no RAPL zones (intel-rapl:*) under {root}"
        return result
    names: dict[str, str] = {}
    for cand in candidates:
        try:
            names[cand.zone] = read_attr(read_file, cand.path / "name")
        except Unreadable as exc:
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
        except Unreadable as exc:
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
        zone = _read_zone(read_file, cand, domain, device_id, kind, label)
        if isinstance(zone, RaplZone):
            chosen[device_id] = zone
        elif zone[0]:
            denied_by_device.setdefault(device_id, (cand.zone, zone[1]))
        else:
            result.skipped[cand.zone] = zone[1]

    _annotate(chosen, subdomains)
    result.zones = list(chosen.values())
    for device_id, (zone_name, why) in denied_by_device.items():
        # A domain readable through one interface is fine even if another copy was denied.
        if device_id not in chosen:
            result.denied[device_id] = f"{zone_name} {why}"
            result.skipped[zone_name] = why
    return result


def _read_zone(
    read_file: ReadFile,
    cand: _Candidate,
    domain: str,
    device_id: str,
    kind: str,
    label: str,
) -> RaplZone | tuple[bool, str]:
    """The zone with its counters test-read, or (denied, why) when they cannot be read."""
    try:
        max_range_uj = read_uj(read_file, cand.path / "max_energy_range_uj")
        read_uj(read_file, cand.path / "energy_uj")
    except Unreadable as exc:
        return (bool(exc.denied), f"{domain}: {exc}")
    try:
        enabled = read_attr(read_file, cand.path / "enabled")
    except Unreadable:
        enabled = "unknown"
    return RaplZone(
        path=cand.path,
        zone=cand.zone,
        control_type=cand.control_type,
        domain=domain,
        device_id=device_id,
        kind=kind,
        label=label,
        max_energy_range_uj=max_range_uj,
        power_limit_enabled=enabled,
        max_power_uw=_max_power_uw(read_file, cand.path),
    )


def _annotate(chosen: dict[str, RaplZone], subdomains: dict[str, list[str]]) -> None:
    """Note on each chosen zone the sub-domains it contains and, for psys, what it overlaps."""
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

"""A fake Linux powercap tree: real directories, files and symlinks shaped like sysfs (tests only).

Readers take their root as a parameter, so tests give them such a tree instead of patching
``open``.
"""

from __future__ import annotations

from pathlib import Path

PKG_RANGE_UJ = 262143328850  # a real Intel package max_energy_range_uj
DRAM_RANGE_UJ = 65712999613

Zone = dict[str, object]


def make_powercap(base: Path, zones: dict[str, Zone]) -> Path:
    """Build a sysfs-like powercap tree and return its class directory.

    Zones live under ``devices/virtual/powercap/<control type>/<zone>[/<sub-zone>]`` and
    ``class/powercap`` holds a symlink to the control type and to every zone and sub-zone, as on
    a real machine. Each zone maps attribute names to file contents; an attribute set to None is
    not created.
    """
    devices = base / "devices" / "virtual" / "powercap"
    klass = base / "class" / "powercap"
    klass.mkdir(parents=True, exist_ok=True)
    for zone_name in sorted(zones, key=lambda z: z.count(":")):
        ctype, *ids = zone_name.split(":")
        ctype_dir = devices / ctype
        if not ctype_dir.exists():
            ctype_dir.mkdir(parents=True)
            (ctype_dir / "enabled").write_text("0\n")
            (klass / ctype).symlink_to(ctype_dir)
        zone_dir = ctype_dir
        for depth in range(1, len(ids) + 1):
            zone_dir = zone_dir / ":".join([ctype, *ids[:depth]])
        zone_dir.mkdir(parents=True)
        attrs: Zone = {"enabled": "1", "max_energy_range_uj": PKG_RANGE_UJ, "energy_uj": 1000}
        attrs.update(zones[zone_name])
        for attr, value in attrs.items():
            if value is not None:
                (zone_dir / attr).write_text(f"{value}\n")
        (zone_dir / "subsystem").symlink_to(klass)  # a loop back to the class, as in sysfs
        if len(ids) > 1:
            (zone_dir / "device").symlink_to(zone_dir.parent)
        (klass / zone_name).symlink_to(zone_dir)
    return klass


def write_uj(root: Path, zone: str, energy_uj: int) -> None:
    (root / zone / "energy_uj").write_text(f"{energy_uj}\n")

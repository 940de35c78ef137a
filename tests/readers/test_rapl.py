"""RaplReader against real directory trees shaped like Linux powercap sysfs."""

from __future__ import annotations

import fnmatch
import glob
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from readers.fake_powercap import DRAM_RANGE_UJ, PKG_RANGE_UJ, Zone, make_powercap, write_uj
from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import Provenance, Reader
from wattwise.readers.rapl import ROOT_ENV_VAR, RaplReader, permission_fix, scan

INTEL: dict[str, Zone] = {
    "intel-rapl:0": {"name": "package-0", "energy_uj": 5_000_000},
    "intel-rapl:0:0": {"name": "core", "energy_uj": 2_000_000},
    "intel-rapl:0:1": {"name": "uncore", "energy_uj": 100_000},
    "intel-rapl:0:2": {
        "name": "dram",
        "energy_uj": 700_000,
        "max_energy_range_uj": DRAM_RANGE_UJ,
        "enabled": "0",
    },
    "intel-rapl:1": {"name": "psys", "energy_uj": 9_000_000},
}


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        self.now_s += 0.5
        return self.now_s


def denying(*suffixes: str) -> Callable[[Path], str]:
    """A read_file that raises PermissionError for paths ending in any of ``suffixes``.

    Tests run as root, for whom mode 0400 files stay readable, so the kernel's refusal is
    injected here instead of with chmod.
    """

    def read(path: Path) -> str:
        if any(str(path).endswith(s) for s in suffixes):
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    return read


@pytest.fixture
def intel(tmp_path: Path) -> Path:
    return make_powercap(tmp_path, INTEL)


def test_intel_layout_keeps_package_dram_psys_and_skips_subdomains(intel: Path) -> None:
    result = RaplReader(intel).probe()

    assert result.available, result.reason
    devices = {d.device_id: d for d in result.devices}
    assert set(devices) == {"rapl:package-0", "rapl:dram-0", "rapl:psys"}
    assert {d.device_id: d.kind for d in result.devices} == {
        "rapl:package-0": "cpu",
        "rapl:dram-0": "dram",
        "rapl:psys": "psys",
    }
    pkg = devices["rapl:package-0"]
    assert pkg.provenance is Provenance.MEASURED
    assert pkg.source == f"powercap:{intel / 'intel-rapl:0'}"
    assert pkg.params["max_energy_range_uj"] == str(PKG_RANGE_UJ)
    assert pkg.params["interface"] == "MSR"
    assert "core (intel-rapl:0:0)" in pkg.params["skipped_subdomains"]
    assert "uncore (intel-rapl:0:1)" in pkg.params["skipped_subdomains"]
    assert devices["rapl:dram-0"].params["max_energy_range_uj"] == str(DRAM_RANGE_UJ)
    # psys contains package and DRAM: it says so, so a total does not add them up.
    assert devices["rapl:psys"].params["overlaps"] == "rapl:dram-0,rapl:package-0"
    assert "sub-domain" in result.details["skipped intel-rapl:0:0"]
    assert "sub-domain" in result.details["skipped intel-rapl:0:1"]


def test_disabled_power_limit_zone_is_still_measured(intel: Path) -> None:
    # `enabled` is power capping, not energy reporting: the DRAM zone (enabled=0) still counts.
    devices = {d.device_id: d for d in RaplReader(intel).probe().devices}
    assert devices["rapl:dram-0"].params["power_limit_enabled"] == "0"
    assert devices["rapl:package-0"].params["power_limit_enabled"] == "1"


def test_two_sockets_dram_takes_the_package_index(tmp_path: Path) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {"name": "package-0"},
            "intel-rapl:0:0": {"name": "dram"},
            "intel-rapl:1": {"name": "package-1"},
            "intel-rapl:1:0": {"name": "dram"},
            "intel-rapl:2": {"name": "package-1-die-1"},
        },
    )
    ids = [d.device_id for d in RaplReader(root).probe().devices]
    assert sorted(ids) == [
        "rapl:dram-0",
        "rapl:dram-1",
        "rapl:package-0",
        "rapl:package-1",
        "rapl:package-1-die-1",
    ]


def test_amd_layout_package_only(tmp_path: Path) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {"name": "package-0"},
            "intel-rapl:0:0": {"name": "core"},
            "intel-rapl:1": {"name": "package-1"},
            "intel-rapl:1:0": {"name": "core"},
        },
    )
    result = RaplReader(root).probe()
    assert result.available
    assert [(d.device_id, d.kind) for d in result.devices] == [
        ("rapl:package-0", "cpu"),
        ("rapl:package-1", "cpu"),
    ]
    assert "skipped intel-rapl:1:0" in result.details


def test_mmio_duplicate_is_read_once_from_msr(tmp_path: Path) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {"name": "package-0"},
            "intel-rapl:1": {"name": "psys"},
            "intel-rapl-mmio:0": {"name": "package-0"},
            "intel-rapl-mmio:1": {"name": "psys"},
        },
    )
    result = RaplReader(root).probe()
    assert sorted((d.device_id, d.params["zone"]) for d in result.devices) == [
        ("rapl:package-0", "intel-rapl:0"),
        ("rapl:psys", "intel-rapl:1"),
    ]
    assert "duplicate of intel-rapl:0" in result.details["skipped intel-rapl-mmio:0"]
    assert "duplicate of intel-rapl:1" in result.details["skipped intel-rapl-mmio:1"]


@pytest.mark.parametrize("broken", ["garbage", "permission"])
def test_mmio_copy_used_when_msr_copy_is_unreadable(tmp_path: Path, broken: str) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {"name": "package-0", "energy_uj": "x" if broken == "garbage" else 1},
            "intel-rapl-mmio:0": {"name": "package-0", "energy_uj": 42},
        },
    )
    msr_energy = str(root / "intel-rapl:0" / "energy_uj")
    reader = RaplReader(root, read_file=denying(msr_energy) if broken == "permission" else None)
    result = reader.probe()
    assert result.available, result.reason
    (device,) = result.devices
    assert device.device_id == "rapl:package-0"
    assert device.params["zone"] == "intel-rapl-mmio:0"
    assert device.params["interface"] == "MMIO"
    assert "fix" not in result.details  # the domain is fully measured through MMIO


def test_each_zone_found_once_whatever_the_root(intel: Path, tmp_path: Path) -> None:
    # The class dir lists sub-zones twice (top level and inside their package); the devices
    # tree only nests them. Both give the same devices, each once.
    from_class = RaplReader(intel).probe()
    from_devices = RaplReader(tmp_path / "devices" / "virtual" / "powercap").probe()
    assert sorted(d.device_id for d in from_class.devices) == sorted(
        d.device_id for d in from_devices.devices
    )
    assert len(from_class.devices) == len({d.device_id for d in from_class.devices}) == 3
    found = scan(intel)
    assert len(found.zones) + len(found.skipped) == len(INTEL)


def test_read_returns_joules_since_open(intel: Path) -> None:
    clock = FakeClock()
    reader = RaplReader(intel, clock=clock)
    devices = reader.open()
    assert {d.device_id for d in devices} == {"rapl:package-0", "rapl:dram-0", "rapl:psys"}

    write_uj(intel, "intel-rapl:0", 5_000_000 + 12_500_000)
    write_uj(intel, "intel-rapl:0:2", 700_000 + 250_000)
    readings = {r.device_id: r for r in reader.read()}

    assert readings["rapl:package-0"].energy_j == pytest.approx(12.5)
    assert readings["rapl:dram-0"].energy_j == pytest.approx(0.25)
    assert readings["rapl:psys"].energy_j == 0.0
    assert all(r.power_w is None for r in readings.values())
    stamps = [r.timestamp_s for r in readings.values()]
    assert stamps == sorted(stamps) and min(stamps) > 100.0 and max(stamps) <= clock.now_s
    reader.close()


def test_counter_wraparound_uses_max_energy_range(tmp_path: Path) -> None:
    max_uj = 1_000_000  # a 1 J range makes the wraps easy to follow
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {
                "name": "package-0",
                "energy_uj": 900_000,
                "max_energy_range_uj": max_uj,
            }
        },
    )
    reader = RaplReader(root, clock=FakeClock())
    reader.open()
    cumulative_uj = 0
    last_uj = 900_000
    for raw_uj in (950_000, 100_000, 800_000, 50_000, 60_000):
        write_uj(root, "intel-rapl:0", raw_uj)
        cumulative_uj += raw_uj - last_uj if raw_uj >= last_uj else max_uj - last_uj + raw_uj
        last_uj = raw_uj
        (reading,) = reader.read()
        assert reading.energy_j == pytest.approx(cumulative_uj / 1e6)
    assert cumulative_uj == 1_160_000  # two wraps went through


def test_permission_denied_gives_the_exact_fix(intel: Path) -> None:
    reader = RaplReader(intel, read_file=denying("/energy_uj", "/max_energy_range_uj"))
    result = reader.probe()

    assert not result.available
    assert result.devices == ()
    assert f"sudo chmod a+r {intel}/intel-rapl*:*/energy_uj" in result.reason
    assert 'SUBSYSTEM=="powercap"' in result.reason
    assert "/etc/udev/rules.d/99-wattwise-powercap.rules" in result.reason
    assert "root" in result.reason
    with pytest.raises(ReaderUnavailable) as exc_info:
        reader.open()
    assert str(exc_info.value) == result.reason


def test_permission_denied_by_the_real_read_path(
    intel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default reader goes through builtins.open: make it refuse energy_uj like the kernel.
    import builtins

    real_open = builtins.open

    def guarded_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", guarded_open)
    result = RaplReader(intel).probe()
    assert not result.available
    assert "udevadm trigger" in result.reason


def test_partially_denied_is_available_and_names_the_fix(intel: Path) -> None:
    dram_energy = str(intel / "intel-rapl:0:2" / "energy_uj")
    result = RaplReader(intel, read_file=denying(dram_energy)).probe()
    assert result.available
    assert {d.device_id for d in result.devices} == {"rapl:package-0", "rapl:psys"}
    assert "rapl:dram-0" in result.reason
    assert "sudo chmod" in result.details["fix"]


def test_permission_lost_mid_run_keeps_the_other_zones_then_is_a_reader_error(
    intel: Path,
) -> None:
    denied: list[str] = []

    def read(path: Path) -> str:
        if str(path) in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    reader = RaplReader(intel, read_file=read)
    reader.open()
    denied.append(str(intel / "intel-rapl:0" / "energy_uj"))
    # One zone lost: the others are still measured, the lost one says why and how to fix it.
    assert {r.device_id for r in reader.read()} == {"rapl:dram-0", "rapl:psys"}
    assert list(reader.last_errors) == ["rapl:package-0"]
    assert "permission denied" in reader.last_errors["rapl:package-0"]
    assert "sudo chmod" in reader.last_errors["rapl:package-0"]
    # Every zone lost: the reader itself is down.
    denied.extend(str(intel / z / "energy_uj") for z in ("intel-rapl:0:2", "intel-rapl:1"))
    with pytest.raises(ReaderError, match="permission denied") as exc_info:
        reader.read()
    assert "sudo chmod" in str(exc_info.value)


def test_fix_commands_cover_every_counter(intel: Path, tmp_path: Path) -> None:
    other = make_powercap(tmp_path / "other", {"intel-rapl-mmio:0": {"name": "package-0"}})
    for base, root in ((tmp_path, intel), (tmp_path / "other", other)):
        chmod = re.search(r"`sudo chmod a\+r ([^`]+)`", permission_fix(root))
        assert chmod is not None
        matched = {Path(p).resolve() for pattern in chmod[1].split() for p in glob.glob(pattern)}
        counters = {  # the real files, found in the devices tree (rglob skips symlinks)
            p.resolve()
            for name in ("energy_uj", "max_energy_range_uj")
            for p in (base / "devices").rglob(name)
        }
        assert counters and counters <= matched
    # udev matches KERNEL with shell globs: every zone, not the control-type directories.
    kernel = re.search(r'KERNEL=="([^"]+)"', permission_fix(intel))
    assert kernel is not None
    for zone in ("intel-rapl:0", "intel-rapl:0:2", "intel-rapl-mmio:0"):
        assert fnmatch.fnmatchcase(zone, kernel[1])
    for ctype in ("intel-rapl", "intel-rapl-mmio"):
        assert not fnmatch.fnmatchcase(ctype, kernel[1])


@pytest.mark.parametrize(
    ("attr", "value", "why"),
    [
        ("energy_uj", "not-a-number", "not an integer"),
        ("energy_uj", "", "not an integer"),
        ("energy_uj", "-5", "negative"),
        ("energy_uj", None, "missing"),
        ("max_energy_range_uj", "0x10", "not an integer"),
        ("max_energy_range_uj", None, "missing"),
        ("name", None, "missing"),
    ],
)
def test_malformed_zone_is_skipped_with_its_reason(
    tmp_path: Path, attr: str, value: str | None, why: str
) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {"name": "package-0"},
            "intel-rapl:0:0": {"name": "dram", attr: value},
        },
    )
    result = RaplReader(root).probe()
    assert result.available
    assert [d.device_id for d in result.devices] == ["rapl:package-0"]
    assert why in result.details["skipped intel-rapl:0:0"]


def test_unknown_domain_is_skipped(tmp_path: Path) -> None:
    root = make_powercap(tmp_path, {"intel-rapl:0": {"name": "gpu-thing"}})
    result = RaplReader(root).probe()
    assert not result.available
    assert "unknown RAPL domain 'gpu-thing'" in result.reason


def test_env_var_sets_the_root(intel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROOT_ENV_VAR, str(intel))
    reader = RaplReader()
    assert reader.root == intel
    assert reader.probe().available
    monkeypatch.setenv(ROOT_ENV_VAR, "")
    assert RaplReader().root == Path("/sys/class/powercap")
    assert RaplReader(intel / "x").root == intel / "x"  # an explicit root wins over the env


def _bad_trees(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield "missing", tmp_path / "nope"
    (tmp_path / "file").write_text("x")
    yield "a file", tmp_path / "file"
    (tmp_path / "empty").mkdir()
    yield "empty", tmp_path / "empty"
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "intel-rapl:0").write_text("a file where a zone should be")
    (odd / "intel-rapl:1").symlink_to(tmp_path / "dangling")
    (odd / "intel-rapl:2").mkdir()  # a zone with no files at all
    (odd / "intel-rapl:2" / "name").write_bytes(b"\xff\xfe\x00garbage")
    yield "odd", odd


def test_probe_never_raises_on_bad_trees(tmp_path: Path) -> None:
    for label, root in _bad_trees(tmp_path):
        result = RaplReader(root).probe()
        assert not result.available, label
        assert result.reason, label
        with pytest.raises(ReaderUnavailable):
            RaplReader(root).open()


def test_probe_never_raises_even_if_reading_blows_up(intel: Path) -> None:
    def explode(path: Path) -> str:
        raise RuntimeError("boom")

    result = RaplReader(intel, read_file=explode).probe()
    assert not result.available
    assert "boom" in result.reason


def test_read_before_open_and_after_close(intel: Path) -> None:
    reader = RaplReader(intel)
    assert isinstance(reader, Reader)
    assert reader.name == "rapl"
    with pytest.raises(ReaderError):
        reader.read()
    reader.open()
    assert len(reader.read()) == 3
    reader.close()
    reader.close()  # idempotent
    with pytest.raises(ReaderError):
        reader.read()


# ---------------------------------------------------------------------- counter sanity (issue 10)
def test_plausible_power_from_the_zone_constraints(tmp_path: Path) -> None:
    root = make_powercap(
        tmp_path,
        {
            "intel-rapl:0": {
                "name": "package-0",
                "constraint_0_max_power_uw": 125_000_000,
                "constraint_1_max_power_uw": 0,
                "constraint_2_max_power_uw": "junk",
            },
            "intel-rapl:0:0": {"name": "dram"},
        },
    )
    devices = {d.device_id: d for d in RaplReader(root).probe().devices}
    package = devices["rapl:package-0"].params
    assert package["plausible_max_power_w"] == "500"  # 4 x 125 W
    assert "constraint_*_max_power_uw" in package["plausible_max_power"]
    dram = devices["rapl:dram-0"].params  # no constraint: the documented DRAM cap
    assert dram["plausible_max_power_w"] == "1000" and "default" in dram["plausible_max_power"]


@pytest.mark.parametrize("glitch", ["5", "999999999999999999", "garbage", "-7", ""])
def test_energy_uj_glitch_leaves_only_that_zone_out_then_continues_exactly(
    intel: Path, glitch: str
) -> None:
    clock = FakeClock()
    reader = RaplReader(intel, clock=clock)
    reader.open()
    write_uj(intel, "intel-rapl:0", 5_000_000 + 27_500_000)  # 55 W for 0.5 s
    assert {r.device_id for r in reader.read()} == {"rapl:package-0", "rapl:dram-0", "rapl:psys"}
    (intel / "intel-rapl:0" / "energy_uj").write_text(f"{glitch}\n")
    readings = reader.read()
    assert {r.device_id for r in readings} == {"rapl:dram-0", "rapl:psys"}
    assert "glitch" in reader.last_errors["rapl:package-0"]
    write_uj(intel, "intel-rapl:0", 5_000_000 + 82_500_000)  # the hardware kept counting
    package = {r.device_id: r for r in reader.read()}["rapl:package-0"]
    assert package.energy_j == pytest.approx(82.5) and not package.rebased
    assert reader.last_errors == {}


def test_restarted_rapl_counter_is_rebased(tmp_path: Path) -> None:
    zone = {"name": "package-0", "energy_uj": 200_000_000_000}
    root = make_powercap(tmp_path, {"intel-rapl:0": zone})
    reader = RaplReader(root, clock=FakeClock())
    reader.open()
    write_uj(root, "intel-rapl:0", 200_000_000_000 + 27_500_000)
    (before,) = reader.read()
    write_uj(root, "intel-rapl:0", 1_000_000)  # restarted: as a wrap, 62 kJ in 0.5 s
    assert reader.read() == [] and "counter glitch" in reader.last_errors["rapl:package-0"]
    write_uj(root, "intel-rapl:0", 1_000_000 + 27_500_000)
    (r,) = reader.read()
    assert r.rebased and r.energy_j == pytest.approx(before.energy_j)


def test_open_again_keeps_the_counters_zero(intel: Path) -> None:
    """Discovery opens the reader and the tracker opens it again: energy still counts from the
    first open, and the tree is not scanned twice."""
    reader = RaplReader(intel, clock=FakeClock())
    first = reader.open()
    write_uj(intel, "intel-rapl:0", 5_000_000 + 2_000_000)
    assert reader.open() == first
    readings = {r.device_id: r for r in reader.read()}
    assert readings["rapl:package-0"].energy_j == pytest.approx(2.0)
    reader.close()
    assert reader.open() == first  # after close(), a fresh open takes a new zero
    assert {r.device_id: r.energy_j for r in reader.read()}["rapl:package-0"] == 0.0
    reader.close()

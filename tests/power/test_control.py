"""The control layer's contract over a fake of nvidia-ml-py's functions: the privilege check
comes first, limits outside the constraints never reach the driver, watts are converted to
milliwatts at the boundary, and vendor errors become one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from power.fake_control_nvml import ControlNvml, h100_control
from wattwise.errors import ConfigError
from wattwise.power.nvml_control import (
    PRIVILEGE_LINE,
    NvmlControl,
    PowerControlError,
    PrivilegeError,
    has_admin_privilege,
)


def _control(nvml: ControlNvml, privileged: bool = True) -> NvmlControl:
    control = NvmlControl(nvml, privileged=lambda: privileged)
    control.open()
    return control


def test_settings_are_read_in_watts_and_mhz() -> None:
    s = _control(ControlNvml([h100_control()])).settings(0)
    assert (s.power_limit_w, s.default_limit_w) == (700.0, 700.0)
    assert (s.min_limit_w, s.max_limit_w) == (200.0, 700.0)
    assert s.sm_clocks_mhz == (1980.0, 1500.0, 1005.0, 510.0)
    assert s.persistence is False


def test_a_limit_is_sent_in_milliwatts() -> None:
    nvml = ControlNvml([h100_control()])
    _control(nvml).set_power_limit(0, 312.5)
    assert nvml.sets == [("nvmlDeviceSetPowerManagementLimit", 0, (312_500,))]
    assert nvml.gpus[0].power_limit_mw == 312_500


@pytest.mark.parametrize("limit_w", [199.0, 700.5, 0.0, -5.0, 5000.0])
def test_limits_outside_the_constraints_are_refused_before_the_driver(limit_w: float) -> None:
    nvml = ControlNvml([h100_control()])
    with pytest.raises(PowerControlError, match=r"outside what GPU 0 .* allows \(200-700 W\)"):
        _control(nvml).set_power_limit(0, limit_w)
    assert nvml.sets == []
    assert issubclass(PowerControlError, ConfigError)  # exit code 2 in the CLI


def test_no_privilege_is_refused_before_anything_is_attempted() -> None:
    nvml = ControlNvml([h100_control()])
    with pytest.raises(PrivilegeError) as info:
        _control(nvml, privileged=False).set_power_limit(0, 300.0)
    assert str(info.value) == PRIVILEGE_LINE
    assert nvml.sets == []


def test_nvml_no_permission_becomes_the_one_line() -> None:
    nvml = ControlNvml([h100_control(deny=True)])
    with pytest.raises(PrivilegeError) as info:
        _control(nvml).set_power_limit(0, 300.0)
    assert str(info.value) == PRIVILEGE_LINE
    assert "\n" not in PRIVILEGE_LINE and "CAP_SYS_ADMIN" in PRIVILEGE_LINE


def test_not_supported_names_the_gpu() -> None:
    nvml = ControlNvml([h100_control(unsupported=True)])
    named = r"not supported by GPU 0 \(NVIDIA H100 80GB HBM3\)"
    with pytest.raises(PowerControlError, match=named):
        _control(nvml).set_power_limit(0, 300.0)


def test_clocks_lock_only_to_a_supported_clock_and_reset() -> None:
    nvml = ControlNvml([h100_control()])
    control = _control(nvml)
    with pytest.raises(PowerControlError, match="not one GPU 0"):
        control.lock_sm_clock(0, 1234.0)
    control.lock_sm_clock(0, 1500.0)
    control.reset_sm_clock(0)
    assert nvml.sets == [
        ("nvmlDeviceSetGpuLockedClocks", 0, (510, 1500)),
        ("nvmlDeviceResetGpuLockedClocks", 0, ()),
    ]


def test_energy_counter_in_joules() -> None:
    assert _control(ControlNvml([h100_control()])).energy_j(0) == 1000.0


@pytest.mark.parametrize(
    ("cap_eff", "expected"),
    [("000001ffffffffff", True), ("0000000000200000", True), ("00000000001fffff", False),
     ("0000000000000000", False), ("garbage", False)],
)  # fmt: skip
def test_privilege_from_cap_eff_bit_21(tmp_path: Path, cap_eff: str, expected: bool) -> None:
    status = tmp_path / "status"
    status.write_text(f"Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff}\n")
    assert has_admin_privilege(status, euid=1000) is expected
    assert has_admin_privilege(status, euid=0) is True
    assert has_admin_privilege(tmp_path / "missing", euid=1000) is False

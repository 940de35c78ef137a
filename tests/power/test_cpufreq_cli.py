"""The CPU frequency state in ``wattwise doctor`` (a real process over a fake sysfs), and the
``--cpu-*`` options of ``wattwise tune`` applied through :func:`handle_cpu`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cli.clirun import wattwise
from power import sysfs
from wattwise.cli.cpufreq import add_cpu_arguments, handle_cpu
from wattwise.errors import ConfigError


def test_doctor_shows_the_cpu_frequency_state(tmp_path: Path) -> None:
    root = sysfs.amd_pstate_epp(tmp_path / "sys")
    env = {"WATTWISE_CPUFREQ_ROOT": str(root), "WATTWISE_DB": str(tmp_path / "l.db")}
    p = wattwise("doctor", **env)
    assert p.returncode == 0, p.stderr
    lines = [line for line in p.stdout.splitlines() if "cpu frequency" in line]
    assert lines == [
        "  cpu frequency: CPUs 0–1: amd-pstate-epp (active), governor performance, "
        "EPP performance, 400–5,000 MHz"
    ]
    assert "advice: CPU governor 'performance'" in p.stdout
    doc = json.loads(wattwise("doctor", "--json", **env).stdout)["cpufreq"]
    assert doc["available"] and doc["policies"][1]["driver"] == "amd-pstate-epp"
    assert doc["advice"][0]["action"].startswith("wattwise tune --cpu-governor powersave")


def test_doctor_on_a_vm_says_there_is_no_cpufreq(tmp_path: Path) -> None:
    root = sysfs.no_cpufreq(tmp_path / "sys")
    p = wattwise("doctor", WATTWISE_CPUFREQ_ROOT=str(root), WATTWISE_DB=str(tmp_path / "l.db"))
    (line,) = [x for x in p.stdout.splitlines() if "cpu frequency" in x]
    assert "no cpufreq policies" in line and "VM" in line


@pytest.fixture
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_cpu_arguments(p)
    return p


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = sysfs.intel_pstate(tmp_path / "sys", cpus=2, governor="performance", epp="performance")
    monkeypatch.setenv("WATTWISE_CPUFREQ_ROOT", str(r))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return r


def _gov_epp(root: Path) -> tuple[str, str]:
    d = root / "cpufreq" / "policy0"
    return (
        (d / "scaling_governor").read_text().strip(),
        (d / "energy_performance_preference").read_text().strip(),
    )


def test_handle_cpu_sets_then_resets(
    parser: argparse.ArgumentParser, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle_cpu(parser.parse_args([])) is None  # no CPU option: the caller goes on
    args = parser.parse_args(["--cpu-governor", "powersave", "--cpu-epp", "balance_performance"])
    assert handle_cpu(args) == 0
    assert _gov_epp(root) == ("powersave", "balance_performance")
    assert "--cpu-reset" in capsys.readouterr().err
    assert handle_cpu(parser.parse_args(["--cpu-reset"])) == 0
    assert _gov_epp(root) == ("performance", "performance")
    assert "restored 4" in capsys.readouterr().err
    handle_cpu(parser.parse_args(["--cpu-reset"]))
    assert "nothing to restore" in capsys.readouterr().err


def test_handle_cpu_refusals_are_one_line(parser: argparse.ArgumentParser, root: Path) -> None:
    with pytest.raises(ConfigError, match="give it alone"):
        handle_cpu(parser.parse_args(["--cpu-reset", "--cpu-epp", "power"]))
    with pytest.raises(ConfigError, match=r"\(available: performance, powersave\)$"):
        handle_cpu(parser.parse_args(["--cpu-governor", "ondemand"]))
    assert _gov_epp(root) == ("performance", "performance")


def test_wattwise_tune_cpu_governor_end_to_end(tmp_path: Path) -> None:
    root = sysfs.intel_pstate(tmp_path / "sys", cpus=2, governor="performance", epp="performance")
    env = {"WATTWISE_CPUFREQ_ROOT": str(root), "XDG_STATE_HOME": str(tmp_path / "state")}
    p = wattwise("tune", "--cpu-governor", "powersave", **env)
    assert p.returncode == 0, p.stderr
    assert _gov_epp(root)[0] == "powersave"
    bad = wattwise("tune", "--cpu-governor", "ondemand", **env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    back = wattwise("tune", "--cpu-reset", **env)
    assert back.returncode == 0, back.stderr
    assert _gov_epp(root) == ("performance", "performance")

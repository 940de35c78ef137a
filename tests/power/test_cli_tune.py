"""``wattwise tune`` end to end on the simulated GPU (the acceptance), the dry run, the
one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wattwise.power.profiles import load_profile

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": SRC}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "wattwise", "tune", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_acceptance_memory_bound_json(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--simulated-gpu", "memory-bound", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["simulated"] is True and doc["restored"] is True
    assert doc["energy_saving"] >= 0.15 and doc["slowdown"] <= 0.02
    assert abs(doc["chosen"]["power_limit_w"] - doc["known_optimum"]["power_limit_w"]) <= 25
    assert doc["tuning_cost"]["break_even_fraction"] <= 0.05
    assert not (tmp_path / "state" / "wattwise" / "power-state.json").exists()
    profile = load_profile(doc["gpus"][0]["name"], Path(doc["profile"]).stem,
                           {"XDG_CACHE_HOME": str(tmp_path / "cache")})  # fmt: skip
    assert profile is not None and profile["simulated"] is True
    assert profile["chosen"]["power_limit_w"] == doc["chosen"]["power_limit_w"]


def test_human_output_says_simulated(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--simulated-gpu", "compute-bound", "--no-save")
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED GPU" in proc.stdout and "restored: yes" in proc.stdout


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--simulated-gpu", "mixed", "--dry-run", "--json", "--grid-step-w", "50")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["simulated"] is True and doc["dry_run"] is True
    assert [s["power_limit_w"] for s in doc["grid"]][:3] == [650.0, 600.0, 550.0]
    assert doc["grid"][-1]["power_limit_w"] == 200.0
    assert not (tmp_path / "state").exists()  # no state file, no simulated settings


@pytest.mark.parametrize(
    ("args", "needle"),
    [((), "give a command"),
     (("--simulated-gpu", "mixed", "--max-slowdown", "-1"), "--max-slowdown")],
)  # fmt: skip
def test_errors_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    proc = _run(tmp_path, *args)
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_reset_with_nothing_to_restore(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--reset")
    assert proc.returncode == 0 and "nothing to restore" in proc.stdout

"""``wattwise tune -- CMD``: a real child command whose ``report_count(steps=1)`` lines drive
the tuner, against the simulated GPU (the parent advances it one step per report): the
acceptance figures, the exit code passed through, a command that ends while profiling, and a
SIGTERM to wattwise mid-profile that restores the settings and stops the command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wattwise.power import simulator
from wattwise.power.profiles import fingerprint, load_profile
from wattwise.power.steps import ReportedSteps, WorkloadEnded
from wattwise.workloads.counts import CountsFollower

SRC = str(Path(__file__).resolve().parents[2] / "src")

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from wattwise.workloads.counts import report_count
    with open(sys.argv[3], "w") as f:
        f.write(str(os.getpid()))
    steps = int(sys.argv[1])
    i = 0
    while steps < 0 or i < steps:
        report_count(steps=1)
        time.sleep(0.001 if steps >= 0 else 0.01)
        i += 1
    sys.exit(int(sys.argv[2]))
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": SRC}  # fmt: skip


def _command(tmp_path: Path, steps: int, code: int) -> list[str]:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    return [sys.executable, str(child), str(steps), str(code), str(tmp_path / "child.pid")]


def _tune(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "wattwise", "tune", "--simulated-gpu", "memory-bound", *args]


def _state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "wattwise" / "power-state.json"


def _sim_settings(tmp_path: Path) -> Path:
    return simulator.settings_path(tmp_path / "state" / "wattwise")


def test_real_command_on_simulated_gpu_meets_the_acceptance(tmp_path: Path) -> None:
    command = _command(tmp_path, 400, 3)
    proc = subprocess.run(_tune(tmp_path, "--json", "--", *command), env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 3, proc.stderr  # the command's exit code
    doc = json.loads(proc.stdout)
    assert doc["simulated"] is True and doc["tuned"] is True and doc["exit_code"] == 3
    assert doc["restored"] is True and doc["restore_failures"] == []
    assert doc["energy_saving"] >= 0.15 and doc["slowdown"] <= 0.02
    assert abs(doc["chosen"]["power_limit_w"] - doc["known_optimum"]["power_limit_w"]) <= 25
    profiling = doc["tuning_cost"]["profiling_steps"]
    assert profiling + doc["held"]["steps"] == 400  # every reported step counted once
    # The held steps ran at the chosen limit: their energy per step is the chosen one's.
    held_j = doc["held"]["energy_per_step_j"]
    assert abs(held_j / doc["chosen"]["energy_per_step_j"] - 1) < 0.02
    assert not _state(tmp_path).exists() and not _sim_settings(tmp_path).exists()
    profile = load_profile(doc["gpus"][0]["name"], fingerprint(command),
                           {"XDG_CACHE_HOME": str(tmp_path / "cache")})  # fmt: skip
    assert profile is not None and profile["simulated"] is True
    assert profile["command"] == command
    assert profile["chosen"]["power_limit_w"] == doc["chosen"]["power_limit_w"]

    # The same command again with --reuse: the saved choice is held from the first step.
    again = subprocess.run(_tune(tmp_path, "--json", "--reuse", "--", *command),
                           env=_env(tmp_path), capture_output=True, text=True,
                           timeout=60)  # fmt: skip
    assert again.returncode == 3, again.stderr
    reused = json.loads(again.stdout)
    assert reused["reused_profile"] is not None and reused["tuned"] is False
    assert reused["held"]["steps"] == 400 and reused["restored"] is True
    assert reused["chosen"]["power_limit_w"] == doc["chosen"]["power_limit_w"]
    assert abs(reused["held"]["energy_per_step_j"] / held_j - 1) < 0.02  # at the chosen limit
    assert not _state(tmp_path).exists()


def test_command_that_ends_while_profiling_restores_and_passes_its_code(tmp_path: Path) -> None:
    proc = subprocess.run(_tune(tmp_path, "--no-save", "--", *_command(tmp_path, 40, 0)),
                          env=_env(tmp_path), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED GPU" in proc.stdout and "after 40 reported steps" in proc.stdout
    assert "restored: yes" in proc.stdout
    assert not _state(tmp_path).exists() and not _sim_settings(tmp_path).exists()


def test_command_not_found_is_127(tmp_path: Path) -> None:
    proc = subprocess.run(_tune(tmp_path, "--", "no-such-command-wattwise"), env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 127 and "command not found" in proc.stderr
    assert not _state(tmp_path).exists()


def test_sigterm_mid_profile_restores_and_stops_the_command(tmp_path: Path) -> None:
    tune = subprocess.Popen(_tune(tmp_path, "--json", "--", *_command(tmp_path, -1, 0)),
                            env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 20
    while not _sim_settings(tmp_path).exists():  # a limit below the default is applied
        assert tune.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    assert _state(tmp_path).exists()
    tune.send_signal(signal.SIGTERM)
    _out, err = tune.communicate(timeout=30)
    assert tune.returncode == 128 + signal.SIGTERM, err
    assert not _state(tmp_path).exists() and not _sim_settings(tmp_path).exists()
    child_pid = int((tmp_path / "child.pid").read_text())
    with pytest.raises(ProcessLookupError):  # stopped and reaped by wattwise
        os.kill(child_pid, 0)


def test_reported_steps_splits_reports_and_raises_when_the_command_ended(tmp_path: Path) -> None:
    path = tmp_path / "counts.jsonl"
    path.write_text('{"steps": 5, "_t": 10.0}\n{"steps": 1, "_t": 11.0}\n{"tokens": 3}\n')
    source = ReportedSteps(CountsFollower(path), lambda: False, poll_s=0.001)
    source.run_steps(2)
    assert source.steps == 2 and source.now_s() == 10.0  # the child's time of the report
    source.run_steps(4)  # the 3 left of the first report, then the second
    assert source.steps == 6 and source.now_s() == 11.0
    with pytest.raises(WorkloadEnded) as ended:
        source.run_steps(1)
    assert ended.value.steps == 6

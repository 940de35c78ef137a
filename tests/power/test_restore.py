"""The settings always come back: an exception, SIGINT / SIGTERM / SIGHUP (each in a
subprocess), and SIGKILL followed by ``wattwise tune --reset``; against the simulated GPU,
whose settings persist in a file like a real GPU's persist past a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wattwise.errors import WattwiseError
from wattwise.power import simulator
from wattwise.power.nvml_control import NvmlControl
from wattwise.power.state import guarded, pending_changes, read_state, state_path

SRC = str(Path(__file__).resolve().parents[2] / "src")

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from wattwise.power import simulator
    from wattwise.power.nvml_control import NvmlControl
    from wattwise.power.state import guarded, state_dir, state_path

    sim = simulator.make("memory-bound", state_dir(), count=2)
    with NvmlControl(sim, simulated=True) as control:
        with guarded(control, state_path(), reset_clocks=True, shape="memory-bound"):
            control.set_power_limit(0, 300.0)
            control.set_power_limit(1, 250.0)
            control.lock_sm_clock(1, 1500.0)
            print("changed", flush=True)
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
            time.sleep(30)
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": SRC}  # fmt: skip


def _sim_settings(tmp_path: Path) -> dict[str, object] | None:
    path = simulator.settings_path(tmp_path / "state" / "wattwise")
    return json.loads(path.read_text()) if path.exists() else None


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_each_signal_restores_then_exits_128_plus_n(tmp_path: Path, sig: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, sig], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "changed" in proc.stdout
    assert proc.returncode == 128 + getattr(signal, sig), proc.stderr
    assert _sim_settings(tmp_path) is None  # both GPUs back at 700 W, clocks unlocked
    assert not (tmp_path / "state" / "wattwise" / "power-state.json").exists()


def test_sigkill_then_reset_restores_from_the_state_file(tmp_path: Path) -> None:
    env = _env(tmp_path)
    proc = subprocess.run([sys.executable, "-c", CHILD, "SIGKILL"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL
    left = _sim_settings(tmp_path)
    assert left is not None
    assert [g["limit_mw"] for g in left["gpus"]] == [300_000, 250_000]  # type: ignore[index]
    state = read_state(tmp_path / "state" / "wattwise" / "power-state.json")
    assert state is not None and [g["power_limit_w"] for g in state["gpus"]] == [700.0, 700.0]
    lines = pending_changes({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert len(lines) == 2 and "wattwise tune --reset" in lines[0] and "700.0 W" in lines[0]

    doctor = subprocess.run([sys.executable, "-m", "wattwise", "doctor"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "warning: simulated GPU 0" in doctor.stdout

    reset = subprocess.run([sys.executable, "-m", "wattwise", "tune", "--reset"], env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    assert "simulated GPU 1: power limit back to 700 W" in reset.stdout
    assert _sim_settings(tmp_path) is None
    assert pending_changes({"XDG_STATE_HOME": str(tmp_path / "state")}) == []


def test_an_exception_restores_and_propagates(tmp_path: Path) -> None:
    path = tmp_path / "power-state.json"
    sim = simulator.make("compute-bound", tmp_path)
    with NvmlControl(sim, simulated=True) as control:
        guard = guarded(control, path, reset_clocks=False)
        with pytest.raises(RuntimeError, match="boom"), guard as g:
            assert read_state(path) is not None  # recorded before the change
            control.set_power_limit(0, 450.0)
            raise RuntimeError("boom")
        assert g.restored and g.failures == []
        assert control.settings(0).power_limit_w == 700.0
    assert not path.exists()


def test_a_left_state_file_blocks_a_new_tune(tmp_path: Path) -> None:
    path = state_path({"XDG_STATE_HOME": str(tmp_path)})
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "pid": 1, "simulated": True, "gpus": []}))
    with NvmlControl(simulator.make("mixed"), simulated=True) as control:
        guard = guarded(control, path, reset_clocks=False)
        with pytest.raises(WattwiseError, match="wattwise tune --reset"), guard:
            pass
        assert control.settings(0).power_limit_w == 700.0


def test_a_rank_state_file_is_found_by_doctor_and_reset(capsys: pytest.CaptureFixture[str]) -> None:
    """A distributed job's rank keeps its own state file on this node: a rank killed with its
    GPU at a lower limit is found by ``doctor`` and restored by ``wattwise tune --reset``."""
    from wattwise.cli import main
    from wattwise.power.state import rank_state_path, record, state_dir

    sim = simulator.make("memory-bound", state_dir())  # settings persist like a real GPU's
    with NvmlControl(sim, simulated=True) as control:
        record(control, rank_state_path(3), reset_clocks=False, shape="memory-bound")
        control.set_power_limit(0, 250.0)  # then the rank dies: nothing restores
    lines = pending_changes()
    assert len(lines) == 1 and "700.0 W" in lines[0] and "rank3" in lines[0]
    assert main(["tune", "--reset"]) == 0
    assert "simulated GPU 0: power limit back to 700 W" in capsys.readouterr().out
    assert pending_changes() == [] and not rank_state_path(3).exists()
    with NvmlControl(simulator.make("memory-bound", state_dir()), simulated=True) as control:
        assert control.settings(0).power_limit_w == 700.0

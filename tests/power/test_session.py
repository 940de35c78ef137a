"""``with wattwise.power.tuned() as t: ... t.step()`` on the simulated GPU: the loop's own first
steps are the profile, the known optimum is held for the rest, the originals come back after a
normal end, an exception and a signal; the profile is saved and reused; no privilege, one line."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

import wattwise
from wattwise.power import simulator
from wattwise.power.nvml_control import PRIVILEGE_LINE, NvmlControl, PrivilegeError
from wattwise.power.profiles import fingerprint, profile_path
from wattwise.power.selectors import Selector
from wattwise.power.state import state_path
from wattwise.power.tuner import TuneOptions, plan

#: Fewer steps per setting than the CLI's default, same selector: a short block for the tests.
QUICK = TuneOptions(grid_step_w=50.0, warmup_steps=1, steps_per_setting=4, min_measure_s=0.2)


def _limit(t: wattwise.power.TunedSession) -> float:
    assert t.control is not None
    return t.control.settings(0).power_limit_w


def test_the_loop_profiles_then_holds_the_known_optimum_then_restores() -> None:
    with wattwise.power.tuned(simulated_gpu="memory-bound", workload="copy loop") as t:
        limits = []
        for _ in range(400):
            t.step()
            limits.append(_limit(t))
        assert t.result is not None  # profiling ended inside the block
        held_w = t.result.chosen.setting.power_limit_w
        assert _limit(t) == held_w
        assert set(limits[t.result.profiling_steps :]) == {held_w}  # held for every later step
    rep = t.report()
    control = NvmlControl(simulator.SimulatedNvml(shape="memory-bound"), simulated=True)
    control.open()
    default, grid = plan([control.settings(0)], TuneOptions())
    best_w, _ = simulator.brute_force_optimum(
        "memory-bound", Selector(), [(s.power_limit_w, s.sm_clock_mhz) for s in [default, *grid]]
    )
    assert abs(held_w - best_w) <= 25.0
    assert rep["simulated"] is True and rep["restored"] is True and not state_path().exists()
    assert rep["energy_saving"] >= 0.15 and rep["slowdown"] <= 0.02
    assert rep["default"]["power_limit_w"] == 700.0  # measured in the same run
    assert rep["held"]["steps"] == 400 - t.result.profiling_steps
    assert rep["held"]["energy_per_step_j"] < rep["default"]["energy_per_step_j"] * 0.85
    assert rep["tuning_cost"]["break_even_fraction"] <= 0.05 * 10_000 / 400
    assert "SIMULATED GPU" in t.summary() and "settings restored" in t.summary()


def test_profiles_are_saved_by_gpu_model_and_fingerprint_then_reused() -> None:
    with wattwise.power.tuned(simulated_gpu="memory-bound", options=QUICK, workload="w") as t:
        for _ in range(100):
            t.step()
    assert t.result is not None and t.profile_path is not None
    model = simulator.H100.name
    assert t.profile_path == profile_path(model, fingerprint(["w"]))
    saved = json.loads(t.profile_path.read_text())
    assert saved["gpu_model"] == model and saved["simulated"] is True
    assert saved["chosen"]["power_limit_w"] == t.result.chosen.setting.power_limit_w
    with wattwise.power.tuned(simulated_gpu="memory-bound", options=QUICK, workload="w") as again:
        again.step()
        assert _limit(again) == saved["chosen"]["power_limit_w"]  # no profiling: held at once
    rep = again.report()
    assert rep["reused_profile"] == str(t.profile_path) and rep["tuned"] is False
    assert rep["restored"] is True and "saved profile" in again.summary()
    other = Selector(max_slowdown=0.1)
    with wattwise.power.tuned(
        simulated_gpu="memory-bound", workload="w", options=TuneOptions(selector=other)
    ) as fresh:
        fresh.step()
    assert fresh.report()["reused_profile"] is None  # another selector: profiled afresh


def test_report_count_steps_drive_the_block() -> None:
    with wattwise.power.tuned(simulated_gpu="memory-bound", options=QUICK, reuse=False) as t:
        for _ in range(100):
            wattwise.report_count(steps=1)
    assert t.steps == 100 and t.result is not None and t.report()["restored"] is True


def test_an_exception_restores_and_propagates() -> None:
    t = wattwise.power.tuned(simulated_gpu="mixed", options=QUICK, reuse=False)
    with pytest.raises(ZeroDivisionError), t:
        for _ in range(8):
            t.step()
        assert _limit(t) < 700.0  # mid-profile, at a lower limit
        raise ZeroDivisionError
    rep = t.report()
    assert rep["restored"] is True and rep["tuned"] is False and "during profiling" in rep["note"]
    assert not state_path().exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_restores_at_once_then_exits(signame: str) -> None:
    signum = getattr(signal, signame)
    before = signal.getsignal(signum)
    t = wattwise.power.tuned(simulated_gpu="mixed", options=QUICK, reuse=False)
    with pytest.raises(SystemExit) as ended, t:
        for _ in range(8):
            t.step()
        os.kill(os.getpid(), signum)
    assert ended.value.code == 128 + signum
    assert t.report()["restored"] is True and not state_path().exists()
    assert signal.getsignal(signum) is before


def test_without_privilege_one_line_before_anything_changes() -> None:
    sim = simulator.SimulatedNvml(shape="memory-bound")
    t = wattwise.power.tuned(nvml=sim, privileged=lambda: False)
    with pytest.raises(PrivilegeError) as err:
        t.check_privilege()
    assert str(err.value) == PRIVILEGE_LINE and "\n" not in PRIVILEGE_LINE
    with pytest.raises(PrivilegeError, match="CAP_SYS_ADMIN"), t:
        pass
    sim.nvmlInit()
    assert sim.nvmlDeviceGetPowerManagementLimit(sim.nvmlDeviceGetHandleByIndex(0)) == 700_000
    assert not state_path().exists()


def test_the_readme_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### In a training loop: `wattwise.power.tuned()`", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None and len(code.group(1).splitlines()) <= 10
    exec(compile(code.group(1), "README.md (tuned)", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "held 225 W (default 700 W)" in out and "settings restored" in out


def test_paused_work_stays_out_of_the_profile() -> None:
    """An evaluation between steps (simulated steps with no ``t.step()``) inside pause/resume
    is not charged to the setting being measured: the default's time per step is the model's."""
    from wattwise.power.gpu_model import H100, SHAPES, operating_point

    true_s = operating_point(H100, SHAPES["mixed"], 700.0).step_time_s
    measured = {}
    for paused in (True, False):
        with wattwise.power.tuned(simulated_gpu="mixed", options=QUICK, reuse=False) as t:
            for i in range(60):
                t.step()
                if i % 3 == 0:  # an evaluation of 2 "steps" every 3 training steps
                    if paused:
                        t.pause()
                    t.simulator.run_steps(2)
                    t.resume()
        measured[paused] = t.report()["default"]["time_per_step_s"]
    assert measured[True] == pytest.approx(true_s, rel=0.01)
    assert measured[False] > 1.5 * true_s  # what it would be without the pause


def test_tuned_imports_no_vendor_library_or_framework() -> None:
    import subprocess

    code = ("import sys, wattwise; wattwise.power.tuned; import wattwise.integrations.tuning\n"
            "print(sorted(m for m in ('torch', 'pynvml', 'transformers', 'lightning', 'sqlalchemy')"
            " if m in sys.modules))")  # fmt: skip
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": src}, timeout=60, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"

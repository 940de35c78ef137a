"""The tuner finds the simulated GPU's known optimum (brute force over the noise-free model,
same grid) within one grid step, for the three shapes and every selector; compute-bound work is
never chosen beyond the slowdown bound; the early stop, the classifier and both knobs work."""

from __future__ import annotations

import dataclasses

import pytest

from wattwise.power import simulator
from wattwise.power.classify import classify, narrow
from wattwise.power.gpu_model import H100, SHAPES, operating_point
from wattwise.power.nvml_control import NvmlControl
from wattwise.power.selectors import Selector
from wattwise.power.tuner import TuneOptions, TuneResult, payback, plan, tune

SELECTORS = [Selector("min-energy-within-slowdown", 0.02), Selector("min-energy"),
             Selector("zeus", eta=0.5), Selector("zeus", eta=0.9), Selector("edp")]  # fmt: skip


def _tune(shape: str, options: TuneOptions, sim: simulator.SimulatedNvml | None = None,
          ) -> tuple[TuneResult, simulator.SimulatedNvml, NvmlControl]:  # fmt: skip
    sim = sim or simulator.SimulatedNvml(shape=shape, seed=7)
    control = NvmlControl(sim, simulated=True)
    control.open()
    return tune(control, sim, options), sim, control


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("selector", SELECTORS, ids=lambda s: s.label())
def test_finds_the_known_optimum_within_one_grid_step(shape: str, selector: Selector) -> None:
    options = TuneOptions(selector=selector, grid_step_w=25.0)
    result, _sim, control = _tune(shape, options)
    default, grid = plan([control.settings(0)], options)
    best_w, _ = simulator.brute_force_optimum(
        shape, selector, [(s.power_limit_w, s.sm_clock_mhz) for s in [default, *grid]]
    )
    assert abs(result.chosen.setting.power_limit_w - best_w) <= options.grid_step_w
    assert control.settings(0).power_limit_w == result.chosen.setting.power_limit_w  # held
    assert result.default.setting.power_limit_w == 700.0  # measured in the same run


@pytest.mark.parametrize("bound", [0.0, 0.005, 0.02, 0.05, 0.1])
def test_compute_bound_never_beyond_the_slowdown_bound(bound: float) -> None:
    result, _sim, _c = _tune("compute-bound", TuneOptions(selector=Selector(max_slowdown=bound)))
    assert result.slowdown <= bound
    true_default = operating_point(H100, SHAPES["compute-bound"], 700.0)
    true_chosen = operating_point(
        H100, SHAPES["compute-bound"], result.chosen.setting.power_limit_w
    )
    assert true_chosen.step_time_s / true_default.step_time_s - 1 <= bound + 0.005


def test_memory_bound_goal_and_payback_within_5_percent_of_10000_steps() -> None:
    result, _sim, _c = _tune("memory-bound", TuneOptions())
    assert result.workload_class == "memory-bound"
    assert result.energy_saving >= 0.15 and result.slowdown <= 0.02
    cost = payback(result, 10_000)
    assert cost["break_even_fraction"] is not None and cost["break_even_fraction"] <= 0.05


def test_classifier_skips_limits_that_cannot_bind_for_memory_bound_work() -> None:
    result, _sim, _c = _tune("memory-bound", TuneOptions(selector=Selector("min-energy")))
    measured = [m.setting.power_limit_w for m in result.settings[1:]]
    assert measured and max(measured) < result.default.power_w  # nothing above the draw
    assert classify(100, 99) == "memory-bound"
    assert classify(100, 3) == "compute-bound"
    assert classify(100, 50) == "mixed"
    assert classify(0, 0) == "unknown"
    assert narrow([700, 400, 300], "compute-bound", 380) == [700, 400, 300]
    assert narrow([700, 400, 300], "memory-bound", 380) == [300]


def test_early_stop_once_energy_rises_for_two_settings() -> None:
    # A GPU with high static power: lower limits first save, then cost energy (U-shaped).
    hot = dataclasses.replace(H100, static_w=300.0)
    sim = simulator.SimulatedNvml(shape="compute-bound", model=hot, seed=1)
    options = TuneOptions(selector=Selector("min-energy"))
    result, _sim, _control = _tune("compute-bound", options, sim)
    assert result.stopped_early is not None and "rose" in result.stopped_early
    assert len(result.settings) < len(result.planned)
    e = [m.energy_per_step_j for m in result.settings]
    assert e[-1] > e[-2] > e[-3]
    assert result.chosen.energy_per_step_j == min(e)


def test_sm_clock_knob_saves_on_memory_bound_work() -> None:
    result, sim, _c = _tune("memory-bound", TuneOptions(knob="sm-clock"))
    assert result.chosen.setting.sm_clock_mhz is not None
    assert result.energy_saving >= 0.15 and result.slowdown <= 0.02
    assert sim.point(0).sm_clock_mhz <= result.chosen.setting.sm_clock_mhz


def test_one_limit_for_all_gpus() -> None:
    sim = simulator.SimulatedNvml(shape="memory-bound", count=3, seed=3)
    result, _sim, control = _tune("memory-bound", TuneOptions(), sim)
    limits = {control.settings(i).power_limit_w for i in range(3)}
    assert limits == {result.chosen.setting.power_limit_w}
    assert result.energy_saving >= 0.15

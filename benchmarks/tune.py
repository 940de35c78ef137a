"""The power tuner on the simulated GPU: found vs known optimum, payback; a markdown table.

    PYTHONPATH=src python benchmarks/tune.py > /tmp/tune-table.md
    PYTHONPATH=src python benchmarks/tune.py --session > /tmp/tune-session.md

For each shape and selector: the tuner's chosen limit, saving and slowdown (measured, against
the default measured in the same run), the brute-force optimum over the noise-free model on the
same grid, and the profiling cost for a 10,000-step job (seed 0, 25 W grid, 3 warm-up + 20
measured steps per setting).

``--session``: whole 10,000-step jobs through ``with wattwise.power.tuned() as t: ... t.step()``
(the loop pushes its steps, as a training loop or the callbacks' ``tune=True`` do), then the
same job again reusing the saved profile; the job's energy (every step, profiling included,
from the simulated counter) against 10,000 steps at the default setting.
"""

from __future__ import annotations

import sys

from wattwise.power import simulator
from wattwise.power.gpu_model import H100, SHAPES, operating_point
from wattwise.power.nvml_control import NvmlControl
from wattwise.power.selectors import Selector
from wattwise.power.tuner import TuneOptions, payback, plan, tune

WITHIN = "min-energy-within-slowdown"
SELECTORS = [Selector(WITHIN, 0.02), Selector(WITHIN, 0.05), Selector("min-energy"),
             Selector("zeus", eta=0.5), Selector("edp")]  # fmt: skip
JOB_STEPS = 10_000


def row(shape: str, selector: Selector, knob: str = "power-limit") -> str:
    sim = simulator.SimulatedNvml(shape=shape, seed=0)
    control = NvmlControl(sim, simulated=True)
    control.open()
    options = TuneOptions(selector=selector, knob=knob)
    default, grid = plan([control.settings(0)], options)
    result = tune(control, sim, options)
    best = simulator.brute_force_optimum(
        shape, selector, [(s.power_limit_w, s.sm_clock_mhz) for s in [default, *grid]]
    )
    base = operating_point(H100, SHAPES[shape], 700.0)
    opt = operating_point(H100, SHAPES[shape], best[0], best[1])
    cost = payback(result, JOB_STEPS)
    c = result.chosen.setting
    found = f"{c.sm_clock_mhz:g} MHz" if c.sm_clock_mhz else f"{c.power_limit_w:g} W"
    known = f"{best[1]:g} MHz" if best[1] else f"{best[0]:g} W"
    be = cost["break_even_step"]
    return (
        f"| {shape} | {knob} | {selector.label()} | {found} | {100 * result.energy_saving:.1f} % "
        f"| {100 * result.slowdown:.2f} % | {known} "
        f"| {100 * (1 - opt.energy_per_step_j / base.energy_per_step_j):.1f} % "
        f"| {100 * (opt.step_time_s / base.step_time_s - 1):.2f} % | {len(result.settings)} "
        f"| {cost['profiling_steps']} | {cost['profiling_energy_j'] / 1000:.1f} kJ "
        f"| {cost['overhead_j'] / 1000:+.1f} kJ "
        f"| {'never' if be is None else f'{be} ({100 * be / JOB_STEPS:.1f} %)'} |"
    )


def session_row(shape: str, reuse: bool) -> str:
    import wattwise

    with wattwise.power.tuned(simulated_gpu=shape, workload=["bench", shape], reuse=reuse) as t:
        sim = t.simulator
        e0 = sim.nvmlDeviceGetTotalEnergyConsumption(sim.nvmlDeviceGetHandleByIndex(0))
        for _ in range(JOB_STEPS):
            t.step()
        e1 = sim.nvmlDeviceGetTotalEnergyConsumption(sim.nvmlDeviceGetHandleByIndex(0))
        time_s = sim.now_s()
    rep = t.report()
    base = operating_point(H100, SHAPES[shape], 700.0)
    job_j, default_j = (e1 - e0) / 1000.0, JOB_STEPS * base.energy_per_step_j
    cost = rep.get("tuning_cost") or {}
    be = cost.get("break_even_step")
    return (
        f"| {shape} | {'reused profile' if rep['reused_profile'] else 'profiled in the block'} "
        f"| {rep['chosen']['power_limit_w']:g} W | {100 * rep['energy_saving']:.1f} % "
        f"| {100 * rep['slowdown']:.2f} % | {cost.get('profiling_steps', 0)} "
        f"| {'-' if be is None else f'{be} ({100 * be / JOB_STEPS:.1f} %)'} "
        f"| {job_j / 1000:.1f} kJ | {default_j / 1000:.1f} kJ "
        f"| {100 * (1 - job_j / default_j):.1f} % "
        f"| {100 * (time_s / (JOB_STEPS * base.step_time_s) - 1):.2f} % "
        f"| {'yes' if rep['restored'] else 'NO'} |"
    )


def session_main() -> int:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # profiles and state here, not in ~
        os.environ["XDG_CACHE_HOME"] = os.environ["XDG_STATE_HOME"] = tmp
        print(
            "| shape | run | held | saving | slowdown | profiling steps | break-even step "
            "| job energy | at default | job saving | job slowdown | restored |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for shape in ("memory-bound", "compute-bound", "mixed"):
            for reuse in (False, True):
                print(session_row(shape, reuse))
    return 0


def main() -> int:
    if "--session" in sys.argv[1:]:
        return session_main()
    print(
        "| shape | knob | selector | found | saving | slowdown | known optimum | its saving "
        "| its slowdown | settings measured | profiling steps | profiling energy "
        "| overhead vs chosen | break-even step (of 10,000) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for shape in ("memory-bound", "compute-bound", "mixed"):
        for selector in SELECTORS:
            print(row(shape, selector))
    for shape in ("memory-bound", "compute-bound"):
        print(row(shape, SELECTORS[0], knob="sm-clock"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``wattwise tune``: find and hold the GPU power limit (or SM clock) a repeated workload needs.

    wattwise tune --simulated-gpu memory-bound --json     # the simulated GPU (tests, demos)
    wattwise tune --dry-run -- python train.py            # the plan; changes nothing
    wattwise tune -- python train.py                      # tune while it runs (report_count)
    wattwise tune --reset                                 # restore after a SIGKILL

Every output of the simulated GPU says so (``"simulated": true``). A real GPU is changed only
with root / CAP_SYS_ADMIN, after its settings are recorded (:mod:`wattwise.power.state`), and
they are restored however the command ends.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError

SHAPE_CHOICES = ("compute-bound", "memory-bound", "mixed")
DEFAULT_JOB_STEPS = 10_000


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number, whole
    from wattwise.cli.cpufreq import add_cpu_arguments
    from wattwise.power.selectors import DEFAULT_ETA, DEFAULT_MAX_SLOWDOWN, SELECTORS
    from wattwise.power.tuner import KNOBS

    p = sub.add_parser(
        "tune",
        help="find the GPU power limit that saves energy for a repeated workload",
        description="Profile the first steps of a job at decreasing GPU power limits, keep the "
        "setting the selector chooses, restore the original settings at the end.",
    )
    p.add_argument(
        "--simulated-gpu",
        choices=SHAPE_CHOICES,
        metavar="SHAPE",
        help="tune a simulated H100-like GPU running a "
        f"{'/'.join(SHAPE_CHOICES)} workload (nothing real is touched)",
    )
    p.add_argument(
        "--simulated-gpus",
        type=whole(low=1, high=64),
        default=1,
        metavar="N",
        help="number of simulated GPUs (default 1)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument(
        "--reset",
        action="store_true",
        help="restore the settings an interrupted tune left (after a SIGKILL)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--selector", choices=SELECTORS, default=SELECTORS[0])
    p.add_argument(
        "--max-slowdown",
        type=number(low=0.0, high=10.0),
        default=DEFAULT_MAX_SLOWDOWN,
        metavar="F",
        help="largest slowdown accepted, a fraction (default 0.02)",
    )
    p.add_argument(
        "--eta",
        type=number(low=0.0, high=1.0),
        default=DEFAULT_ETA,
        help="the zeus selector's weight of energy vs time (default 0.5)",
    )
    p.add_argument(
        "--knob",
        choices=KNOBS,
        default=KNOBS[0],
        help="what to step: the power limit (default) or locked SM clocks",
    )
    p.add_argument("--grid-step-w", type=number(low=1.0, high=1000.0), default=25.0, metavar="W")
    p.add_argument(
        "--clock-step-mhz", type=number(low=1.0, high=2000.0), default=105.0, metavar="MHZ"
    )
    p.add_argument("--steps-per-setting", type=whole(low=1, high=100_000), default=20, metavar="N")
    p.add_argument("--warmup-steps", type=whole(low=0, high=100_000), default=3, metavar="N")
    p.add_argument(
        "--job-steps",
        type=whole(low=1, high=10_000_000),
        default=DEFAULT_JOB_STEPS,
        metavar="N",
        help="simulated: steps of the whole job (default 10,000)",
    )
    p.add_argument("--no-save", action="store_true", help="do not save the tuning profile")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="with a command: hold the setting a saved profile of the same command, GPU model, "
        "knob and selector chose, from the first step (no profiling)",
    )
    add_cpu_arguments(p)
    p.set_defaults(handler=handle, accepts_command=True)


def _options(args: argparse.Namespace) -> Any:
    from wattwise.power.selectors import Selector
    from wattwise.power.tuner import TuneOptions

    return TuneOptions(
        selector=Selector(args.selector, args.max_slowdown, args.eta),
        knob=args.knob,
        grid_step_w=args.grid_step_w,
        clock_step_mhz=args.clock_step_mhz,
        warmup_steps=args.warmup_steps,
        steps_per_setting=args.steps_per_setting,
    )


def _control(args: argparse.Namespace, shape: str | None, *, job: bool = True) -> tuple[Any, Any]:
    """(NvmlControl, simulator or None) for the simulated GPU or the real ones: with ``job``,
    only those ``CUDA_VISIBLE_DEVICES`` shows (all of them for ``--reset``)."""
    from wattwise.power import simulator
    from wattwise.power.nvml_control import NvmlControl, job_selection
    from wattwise.power.state import state_dir

    if shape is not None:
        sim = simulator.make(shape, state_dir(), count=getattr(args, "simulated_gpus", 1))
        return NvmlControl(sim, simulated=True), sim
    return NvmlControl(select=job_selection() if job else None), None


def handle(args: argparse.Namespace) -> int:
    from wattwise.cli.cpufreq import handle_cpu

    command: list[str] | None = args.target_command
    if args.reset:
        return _reset(args)
    done = handle_cpu(args)  # --cpu-governor / --cpu-epp / --cpu-reset: the CPU alone
    if done is not None and args.simulated_gpu is None and not command:
        return done
    options = _options(args)
    if args.simulated_gpu is None and not command:
        raise ConfigError("give a command after '--' (or --simulated-gpu SHAPE, or --reset)")
    if args.dry_run:
        return _dry_run(args, options, command)
    if command:
        from wattwise.cli.tune_command import run_command

        return run_command(args, options, command)
    return _simulated(args, options)


def _gpu_rows(control: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(control.count):
        s = control.settings(i)
        rows.append(
            {
                "index": i,
                "name": s.name,
                "uuid": s.uuid,
                "power_limit_w": s.power_limit_w,
                "default_limit_w": s.default_limit_w,
                "min_limit_w": s.min_limit_w,
                "max_limit_w": s.max_limit_w,
                "persistence": s.persistence,
            }
        )
    return rows


def _dry_run(args: argparse.Namespace, options: Any, command: list[str] | None) -> int:
    from wattwise.power.tuner import plan

    control, _sim = _control(args, args.simulated_gpu)
    with control:
        gpus = [control.settings(i) for i in range(control.count)]
        default, grid = plan(gpus, options)
        rows = _gpu_rows(control)
    doc = {
        "simulated": control.simulated,
        "dry_run": True,
        "command": command,
        "gpus": rows,
        "knob": options.knob,
        "default": default.__dict__,
        "grid": [s.__dict__ for s in grid],
        "selector": options.selector.label(),
        "warmup_steps": options.warmup_steps,
        "steps_per_setting": options.steps_per_setting,
        "changes": "none (dry run)",
    }
    if args.json:
        jsonsafe.write(doc)
        return 0
    out = [
        f"wattwise tune --dry-run{' (SIMULATED GPU)' if control.simulated else ''}: "
        "nothing is changed"
    ]
    out += [
        f"  GPU {r['index']}: {r['name']}, limit {r['power_limit_w']:g} W (default "
        f"{r['default_limit_w']:g} W, allowed {r['min_limit_w']:g}-{r['max_limit_w']:g} W)"
        for r in rows
    ]
    values = [
        f"{s.sm_clock_mhz:g} MHz" if s.sm_clock_mhz else f"{s.power_limit_w:g} W" for s in grid
    ]
    out.append(
        f"  would measure the default ({default.power_limit_w:g} W), then "
        f"{len(grid)} settings: {', '.join(values)}"
    )
    out.append(
        f"  {options.warmup_steps} warm-up + {options.steps_per_setting} measured steps "
        f"per setting; selector {options.selector.label()}"
    )
    if not control.simulated:
        from wattwise.power.nvml_control import has_admin_privilege

        ok = "yes" if has_admin_privilege() else "no (root or CAP_SYS_ADMIN needed)"
        out.append(f"  privilege to change the settings: {ok}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _simulated(args: argparse.Namespace, options: Any) -> int:
    from wattwise.power import simulator
    from wattwise.power.state import guarded, state_path
    from wattwise.power.tuner import payback, plan, tune

    shape = args.simulated_gpu
    control, sim = _control(args, shape)
    with control:
        gpus = [control.settings(i) for i in range(control.count)]
        default, grid = plan(gpus, options)
        with guarded(
            control, state_path(), reset_clocks=options.knob == "sm-clock", shape=shape
        ) as guard:
            result = tune(control, sim, options)
            rest = max(args.job_steps - result.profiling_steps, 0)
            e0 = sum(control.energy_j(i) for i in range(control.count))
            sim.run_steps(rest)
            rest_j = sum(control.energy_j(i) for i in range(control.count)) - e0
        rows = _gpu_rows(control)
    optimum = simulator.brute_force_optimum(
        shape, options.selector, [(s.power_limit_w, s.sm_clock_mhz) for s in [default, *grid]]
    )
    job_j = result.profiling_energy_j + rest_j
    doc: dict[str, Any] = {
        "simulated": True,
        "shape": shape,
        "gpus": rows,
        "knob": options.knob,
        "selector": result.selector,
        "workload_class": result.workload_class,
        "default": result.default.as_dict(),
        "chosen": result.chosen.as_dict(),
        "settings": [m.as_dict() for m in result.settings],
        "energy_saving": result.energy_saving,
        "slowdown": result.slowdown,
        "stopped_early": result.stopped_early,
        "known_optimum": {"power_limit_w": optimum[0], "sm_clock_mhz": optimum[1]},
        "tuning_cost": payback(result, args.job_steps),
        "job": {
            "steps": max(args.job_steps, result.profiling_steps),
            "energy_j": job_j,
            "energy_at_default_j": max(args.job_steps, result.profiling_steps)
            * result.default.energy_per_step_j,
        },
        "restored": guard.restored,
        "restore_failures": guard.failures,
        "profile": None,
    }
    if not args.no_save:
        doc["profile"] = str(_save(result, rows[0]["name"], ["simulated-gpu", shape]))
    if args.json:
        jsonsafe.write(doc)
    else:
        sys.stdout.write("\n".join(_human(doc)) + "\n")
    return 0 if guard.restored else 1


def _save(result: Any, gpu_model: str, command: list[str], *, simulated: bool = True) -> Any:
    from wattwise.power.profiles import profile_of, save_profile

    return save_profile(profile_of(result, gpu_model, command, simulated=simulated))


def _setting(d: dict[str, Any]) -> str:
    clock = f", SM clock <= {d['sm_clock_mhz']:g} MHz" if d.get("sm_clock_mhz") else ""
    return f"{d['power_limit_w']:g} W{clock}"


def _human(doc: dict[str, Any]) -> list[str]:
    c, d, cost = doc["chosen"], doc["default"], doc["tuning_cost"]
    out = [
        f"wattwise tune: SIMULATED GPU ({doc['gpus'][0]['name']} x{len(doc['gpus'])}, "
        f"{doc['shape']} workload; classified {doc['workload_class']})",
        f"  measured {len(doc['settings'])} settings, {cost['profiling_steps']} steps"
        + (f"; stopped early: {doc['stopped_early']}" if doc["stopped_early"] else ""),
        f"  default  {_setting(d)}: {d['energy_per_step_j']:.1f} J/step, "
        f"{1000 * d['time_per_step_s']:.2f} ms/step",
        f"  chosen   {_setting(c)} ({doc['selector']}): {c['energy_per_step_j']:.1f} J/step, "
        f"{1000 * c['time_per_step_s']:.2f} ms/step",
        f"  energy saved {100 * doc['energy_saving']:.1f} %, slowdown "
        f"{100 * doc['slowdown']:.2f} % (simulated)",
    ]
    be = cost["break_even_step"]
    out.append(
        f"  tuning paid back by step {be:,} of {cost['job_steps']:,}"
        if be is not None
        else "  tuning not paid back within the job"
    )
    out.append(f"  settings restored: {'yes' if doc['restored'] else 'NO'}")
    if doc["profile"]:
        out.append(f"  profile: {doc['profile']}")
    return out


def _reset(args: argparse.Namespace) -> int:
    from wattwise.power.state import read_state, state_files

    found = [(path, doc) for path in state_files() if (doc := read_state(path)) is not None]
    if not found:
        where = state_files()[0]
        sys.stdout.write(f"wattwise tune --reset: nothing to restore ({where} not found)\n")
        return 0
    return max(_reset_one(args, path, doc) for path, doc in found)


def _reset_one(args: argparse.Namespace, path: Any, doc: dict[str, Any]) -> int:
    from wattwise.power.state import reset_from_file

    shape = doc.get("shape") if doc.get("simulated") else None
    if doc.get("simulated") and shape is None:
        shape = "mixed"
    args.simulated_gpus = len(doc.get("gpus", [])) or 1
    control, _sim = _control(args, shape, job=False)  # every GPU: the file names which
    with control:
        _doc, failures = reset_from_file(control, path)
    kind = "simulated GPU" if doc.get("simulated") else "GPU"
    for row in doc.get("gpus", []):
        sys.stdout.write(f"{kind} {row['index']}: power limit back to {row['power_limit_w']:g} W\n")
    for line in failures:
        sys.stderr.write(f"wattwise: error: {line}\n")
    return 1 if failures else 0

"""``wattwise tune -- CMD``: tune the GPUs while a real command runs, from its step reports.

The command runs with ``WATTWISE_COUNTS_FILE`` set (the ``wattwise run`` protocol); each
``report_count(steps=1)`` it makes is one step (:class:`wattwise.power.steps.ReportedSteps`).
Inside :class:`wattwise.power.state.guarded` (originals recorded before the command starts;
restored on exit, exception, SIGINT, SIGTERM, SIGHUP) the tuner profiles the first steps
setting by setting (energy from the GPUs' NVML counters, time per step from the reports),
applies the chosen setting and holds it until the command exits. The command is stopped
(SIGTERM, then SIGKILL after :data:`STOP_GRACE_S`) if wattwise ends first. Exit code: the
command's (1 when it succeeded but a setting could not be restored).

With ``--simulated-gpu SHAPE`` the command is real but the GPU is the simulator, which the
parent advances by one step per step report (the simulated clock and energy live in this
process; see :mod:`wattwise.power.steps`): every output says ``simulated``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from wattwise import jsonsafe

STOP_GRACE_S = 10.0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the command if it still runs: a moment to exit on its own, SIGTERM, then SIGKILL."""
    for action, wait_s in ((None, 0.2), (proc.terminate, STOP_GRACE_S), (proc.kill, 5.0)):
        if proc.poll() is not None:
            return
        if action is not None:
            with contextlib.suppress(OSError):
                action()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


def _energy_j(control: Any) -> float:
    return float(sum(control.energy_j(i) for i in range(control.count)))


def run_command(args: argparse.Namespace, options: Any, command: list[str]) -> int:
    """Tune while ``command`` runs; print the result; return the command's exit code."""
    from wattwise.cli.tune import _control, _gpu_rows
    from wattwise.power.state import guarded, state_path_for
    from wattwise.power.steps import ReportedSteps, WorkloadEnded
    from wattwise.power.tuner import tune
    from wattwise.tracker.process import check_command, exit_code_of
    from wattwise.workloads.counts import ENV_VAR, CountsFollower

    refused = check_command(command)
    if refused is not None:
        sys.stderr.write(f"wattwise: error: {refused[1]}\n")
        return refused[0]
    shape = args.simulated_gpu
    control, sim = _control(args, shape)
    result, note, held = None, None, {"steps": 0, "energy_j": 0.0, "time_s": 0.0}
    reused: tuple[Path, dict[str, Any]] | None = None
    with tempfile.TemporaryDirectory(prefix="wattwise-tune-") as tmp, control:
        counts_file = Path(tmp) / "counts.jsonl"
        env = {**os.environ, ENV_VAR: str(counts_file)}
        with guarded(
            control, state_path_for(control), reset_clocks=options.knob == "sm-clock", shape=shape
        ) as guard:
            out = sys.stderr if args.json else None
            proc = subprocess.Popen(command, env=env, stdout=out)
            try:
                source = ReportedSteps(
                    CountsFollower(counts_file), lambda: proc.poll() is None, simulator=sim
                )
                reused = _reuse(args, options, control, command) if args.reuse else None
                try:
                    if reused is None:
                        result = tune(control, source, options)
                except WorkloadEnded as exc:
                    note = f"{exc} (during profiling): nothing chosen, settings restored"
                    if exc.steps == 0:
                        note += "; report steps with wattwise.report_count(steps=1)"
                e0, t0 = _energy_j(control), source.now_s()
                held["steps"] = source.run_until_end()
                held["energy_j"], held["time_s"] = _energy_j(control) - e0, source.now_s() - t0
                returncode = exit_code_of(proc.wait())
            finally:
                _stop(proc)
        rows = _gpu_rows(control)
    doc = _document(args, options, command, result, rows, held, guard)
    doc.update(exit_code=returncode, note=note, reused_profile=None)
    if reused is not None:
        saved = reused[1]
        doc.update(
            reused_profile=str(reused[0]), default=saved["default"], chosen=saved["chosen"],
            energy_saving=saved.get("energy_saving"), slowdown=saved.get("slowdown"),
        )  # fmt: skip
    if args.json:
        jsonsafe.write(doc)
    else:
        sys.stdout.write("\n".join(_human(doc)) + "\n")
    for line in guard.failures:
        sys.stderr.write(f"wattwise: error: {line}\n")
    return returncode if guard.restored or returncode != 0 else 1


def _reuse(
    args: argparse.Namespace, options: Any, control: Any, command: list[str]
) -> tuple[Path, dict[str, Any]] | None:
    """``--reuse``: apply the choice of a usable saved profile of ``command``; (its path, the
    profile), or None (profile then as without ``--reuse``)."""
    from wattwise.power.profiles import fingerprint, load_profile, profile_path, usable_choice
    from wattwise.power.tuner import Setting, apply

    model = control.settings(0).name
    doc = load_profile(model, fingerprint(command))
    found = usable_choice(
        doc, simulated=args.simulated_gpu is not None, selector=options.selector.label(),
        knob=options.knob,
    )  # fmt: skip
    if doc is None or found is None:
        return None
    apply(control, Setting(*found), options.knob)
    return profile_path(model, fingerprint(command)), doc


def _document(
    args: argparse.Namespace,
    options: Any,
    command: list[str],
    result: Any,
    rows: list[dict[str, Any]],
    held: dict[str, Any],
    guard: Any,
) -> dict[str, Any]:
    from wattwise.cli.tune import _save
    from wattwise.power import simulator
    from wattwise.power.tuner import payback

    simulated = args.simulated_gpu is not None
    doc: dict[str, Any] = {
        "simulated": simulated,
        "shape": args.simulated_gpu,
        "command": command,
        "gpus": rows,
        "knob": options.knob,
        "selector": options.selector.label(),
        "tuned": result is not None,
        "held": {
            **held,
            "energy_per_step_j": held["energy_j"] / held["steps"] if held["steps"] else None,
        },
        "restored": guard.restored,
        "restore_failures": guard.failures,
        "profile": None,
    }
    if result is None:
        return doc
    total = result.profiling_steps + int(held["steps"])
    doc.update(
        workload_class=result.workload_class,
        default=result.default.as_dict(),
        chosen=result.chosen.as_dict(),
        settings=[m.as_dict() for m in result.settings],
        energy_saving=result.energy_saving,
        slowdown=result.slowdown,
        stopped_early=result.stopped_early,
        tuning_cost=payback(result, max(total, 1)),
    )
    if simulated:
        grid = [(s.power_limit_w, s.sm_clock_mhz) for s in result.planned]
        best = simulator.brute_force_optimum(args.simulated_gpu, options.selector, grid)
        doc["known_optimum"] = {"power_limit_w": best[0], "sm_clock_mhz": best[1]}
    if not args.no_save:
        doc["profile"] = str(_save(result, rows[0]["name"], command, simulated=simulated))
    return doc


def _human(doc: dict[str, Any]) -> list[str]:
    from wattwise.cli.tune import _setting

    sim = " (SIMULATED GPU)" if doc["simulated"] else ""
    held = doc["held"]
    out = [f"wattwise tune{sim}: {' '.join(doc['command'])} exited {doc['exit_code']}"]
    if doc.get("reused_profile"):
        c, d = doc["chosen"], doc["default"]
        out.append(
            f"  held {_setting(c)} (default {_setting(d)}) for {held['steps']} steps, from the "
            f"saved profile {doc['reused_profile']} (energy saved {100 * doc['energy_saving']:.1f}"
            f" %, slowdown {100 * doc['slowdown']:.2f} % when it was measured)"
        )
    elif not doc["tuned"]:
        out.append(f"  {doc['note']}")
    else:
        c, d = doc["chosen"], doc["default"]
        out += [
            f"  measured {len(doc['settings'])} settings over "
            f"{doc['tuning_cost']['profiling_steps']} steps (classified {doc['workload_class']})",
            f"  default  {_setting(d)}: {d['energy_per_step_j']:.1f} J/step, "
            f"{1000 * d['time_per_step_s']:.2f} ms/step",
            f"  chosen   {_setting(c)} ({doc['selector']}): {c['energy_per_step_j']:.1f} J/step"
            f", {1000 * c['time_per_step_s']:.2f} ms/step; held for {held['steps']} steps",
            f"  energy saved {100 * doc['energy_saving']:.1f} %, slowdown "
            f"{100 * doc['slowdown']:.2f} % (measured in this run"
            f"{', simulated' if doc['simulated'] else ''})",
        ]
    out.append(f"  settings restored: {'yes' if doc['restored'] else 'NO'}")
    if doc["profile"]:
        out.append(f"  profile: {doc['profile']}")
    return out

"""``wattwise run [options] -- CMD ARGS...``: track a command until it exits."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from wattwise.errors import ConfigError

#: The built-in workload run when no command is given.
BUILTIN_COMMAND = [sys.executable, "-m", "wattwise.workloads.demo"]
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.cli import add_db_option
    from wattwise.cli.footprint import add_context_options

    p = sub.add_parser(
        "run",
        help="run a command and measure its energy",
        description="Run CMD and track its energy until it exits; with no command, run the "
        "built-in generative workload. The run is stored in the ledger.",
        usage="wattwise run [options] [-- CMD [ARGS ...]]",
    )
    p.add_argument("--name", help="a name for the run (default: the command)")
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="sampling interval in seconds for the power timeline (default 1.0)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the run as a JSON document on stdout (the command's stdout goes to stderr)",
    )
    p.add_argument(
        "--total-steps",
        type=int,
        metavar="N",
        help="forecast energy, carbon and finish time while the command runs; it reports "
        "each step with wattwise.workloads.counts.report_count(steps=1)",
    )
    p.add_argument(
        "--gpus",
        metavar="LIST",
        help="GPUs to measure: comma-separated indices (nvidia-smi order) or UUIDs "
        "(default: those CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES show, else all)",
    )
    p.add_argument("--no-store", action="store_true", help="do not write the run to the ledger")
    p.add_argument("--quiet", action="store_true", help="print no summary")
    add_db_option(p)
    add_context_options(p)
    p.set_defaults(handler=handle, accepts_command=True)


def resolve_command(command: list[str] | None) -> list[str]:
    """The command to run: the built-in workload when none was given."""
    if command is None:
        return list(BUILTIN_COMMAND)
    if not command or not command[0].strip():
        raise ConfigError(
            "empty command after '--': give a command to run, e.g. -- python train.py"
        )
    return command


def executable_status(prog: str) -> int:
    """0 if ``prog`` can be executed, else the shell's exit code (127 not found, 126 not exec)."""
    if os.sep in prog:
        p = Path(prog)
        if not p.exists():
            return EXIT_NOT_FOUND
        return 0 if (p.is_file() and os.access(p, os.X_OK)) else EXIT_NOT_EXECUTABLE
    return 0 if shutil.which(prog) else EXIT_NOT_FOUND


def handle(args: argparse.Namespace) -> int:
    from wattwise.cli.footprint import context_from_args, footprint_lines, footprint_of
    from wattwise.cli.render import run_summary
    from wattwise.errors import WattwiseError
    from wattwise.tracker.core import Tracker
    from wattwise.workloads.counts import ENV_VAR, CountsFollower

    if args.interval <= 0:
        raise ConfigError("--interval must be a positive number of seconds")
    ctx = context_from_args(args)  # bad --country / --pue: one line, exit 2, nothing run
    if args.total_steps is not None and args.total_steps <= 0:
        raise ConfigError("--total-steps must be a positive number of steps")
    command = resolve_command(args.target_command)
    status = executable_status(command[0])
    if status == EXIT_NOT_FOUND:
        sys.stderr.write(f"wattwise: command not found: {command[0]}\n")
        return EXIT_NOT_FOUND
    if status == EXIT_NOT_EXECUTABLE:
        sys.stderr.write(f"wattwise: permission denied (not an executable file): {command[0]}\n")
        return EXIT_NOT_EXECUTABLE

    ledger = None
    if not args.no_store:
        from wattwise.ledger import Ledger

        ledger = Ledger.open(args.db, persistent=True)  # one clear line if it cannot be used
        for line in ledger.replayed:  # runs spooled earlier, now in the ledger
            sys.stderr.write(f"wattwise: {line}\n")
    name = args.name or ("builtin-demo" if args.target_command is None else Path(command[0]).name)
    tmpdir = tempfile.TemporaryDirectory(prefix="wattwise-")
    counts_file = Path(tmpdir.name) / "counts.jsonl"
    env = dict(os.environ)
    env[ENV_VAR] = str(counts_file)
    gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
    tracker = Tracker(name, interval_s=args.interval, sink=ledger, command=command, gpus=gpus)
    env["WATTWISE_RUN_ID"] = tracker.run_id
    forwarded: list[int] = []
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        forwarded.append(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    # Handlers go in before the command starts, so no signal can slip between the two.
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        tracker.start()
        try:
            # With --json, stdout carries only the JSON document: the command's output -> stderr.
            proc = subprocess.Popen(command, env=env, stdout=sys.stderr if args.json else None)
        except OSError as exc:
            tracker.stop(exit_code=EXIT_NOT_FOUND, status="failed")
            sys.stderr.write(f"wattwise: cannot run {command[0]}: {exc.strerror or exc}\n")
            return EXIT_NOT_FOUND
        children.append(proc)
        if forwarded:  # a signal arrived while the command was starting
            proc.send_signal(forwarded[-1])
        tracker.attach_process(proc.pid)
        follower = CountsFollower(counts_file)
        if args.total_steps is not None:
            returncode = _wait_with_forecast(proc, tracker, follower, args.total_steps, ctx)
        else:
            returncode = proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    exit_code = returncode if returncode >= 0 else 128 - returncode
    apply_counts(tracker, follower)
    for n in follower.notes:
        tracker.add_note(n)
    tmpdir.cleanup()
    run_status = "finished" if exit_code == 0 else ("interrupted" if forwarded else "failed")
    result = tracker.stop(exit_code=exit_code, status=run_status)
    footprint = None
    try:
        footprint = footprint_of(result, ctx)
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: footprint not computed: {exc}\n")
    if ledger is not None:
        try:
            ledger.set_extra(result.run_id, "context", ctx.to_dict())
            if footprint is not None:
                ledger.set_extra(result.run_id, "footprint", footprint.to_dict())
        except WattwiseError as exc:
            sys.stderr.write(f"wattwise: footprint not stored: {exc}\n")
        ledger.close()
    if args.json:
        from wattwise.ledger.serialize import run_to_dict

        doc = run_to_dict(result)
        doc["footprint"] = footprint.to_dict() if footprint is not None else None
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if not args.quiet:
        lines = [run_summary(result)]
        if footprint is not None:
            lines += footprint_lines(footprint)
        if ledger is not None:
            lines.append("  " + ledger.outcome(result.run_id).line())
        sys.stderr.write("\n".join(lines) + "\n")
    elif ledger is not None and not ledger.outcome(result.run_id).stored:
        sys.stderr.write(f"wattwise: {ledger.outcome(result.run_id).line()}\n")
    return exit_code


def apply_counts(tracker: Any, follower: Any) -> None:
    """Feed the command's new count reports to the tracker (steps as step marks)."""
    for ev in follower.poll():
        units = dict(ev.units)
        steps = units.pop("steps", 0.0)
        if steps > 0:
            at_s = None
            if ev.wall_time_s is not None:
                at_s = max(0.0, min(tracker.elapsed_s(), ev.wall_time_s - tracker.start_wall_s))
            tracker.step(round(steps), at_s=at_s)
        if units:
            tracker.count(**units)


def _wait_with_forecast(
    proc: subprocess.Popen[bytes], tracker: Any, follower: Any, total_steps: int, ctx: Any
) -> int:
    """Wait for ``proc``, printing a forecast of the whole run every few seconds."""
    from wattwise.errors import WattwiseError
    from wattwise.units import format_duration, format_energy

    intensity = _intensity_or_none(ctx)
    period_s = max(2.0, 3 * tracker.interval_s)
    while True:
        try:
            return proc.wait(timeout=period_s)
        except subprocess.TimeoutExpired:
            pass
        apply_counts(tracker, follower)
        try:
            fc = tracker.forecast(total_steps, intensity_g_per_kwh=intensity)
        except WattwiseError:
            continue  # no step yet
        e, r = fc.energy_j, fc.remaining_s
        line = (
            f"wattwise: step {fc.steps_seen}/{fc.total_steps}: forecast "
            f"{format_energy(e.value)} ({format_energy(e.low)}-{format_energy(e.high)}), "
            f"done in {format_duration(r.value)} ({format_duration(r.low)}-"
            f"{format_duration(r.high)})"
        )
        if fc.co2e_kg is not None:
            line += f", {fc.co2e_kg.value * 1000:.3g} gCO2e (IT energy x grid)"
        sys.stderr.write(line + "\n")


def _intensity_or_none(ctx: Any) -> float | None:
    try:
        from wattwise.accounting.footprint import resolve_grid

        _grid, _label, used = resolve_grid(ctx)
        return float(used.value)
    except Exception:
        return None

"""``wattwise run [options] -- CMD ARGS...``: track a command until it exits."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError
from wattwise.tracker.process import (
    DEFAULT_POLL_S,
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    check_command,
    executable_status,
    run_tracked,
)
from wattwise.validate import MAX_COUNT

#: The built-in workload run when no command is given.
BUILTIN_COMMAND = [sys.executable, "-m", "wattwise.workloads.demo"]
#: Accepted sampling intervals, seconds: finer than 10 ms only measures the sampler itself; a
#: timeline point per hour is the coarsest that still shows a run's shape.
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.01, 3600.0
__all__ = ["EXIT_NOT_EXECUTABLE", "EXIT_NOT_FOUND", "executable_status", "handle", "register"]


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number, whole
    from wattwise.cli import add_db_option
    from wattwise.cli.footprint import add_context_options
    from wattwise.cli.schedule_run import add_deadline_options
    from wattwise.cli.server import add_run_options as add_server_options

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
        type=number(low=MIN_INTERVAL_S, high=MAX_INTERVAL_S),
        default=1.0,
        metavar="S",
        help="sampling interval in seconds for the power timeline (default 1.0; "
        f"{MIN_INTERVAL_S:g}-{MAX_INTERVAL_S:g})",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the run as a JSON document on stdout (the command's stdout goes to stderr)",
    )
    p.add_argument(
        "--total-steps",
        type=whole(low=1, high=int(MAX_COUNT)),
        metavar="N",
        help="forecast energy, carbon and finish time while the command runs; it reports "
        "each step with wattwise.workloads.counts.report_count(steps=1)",
    )
    p.add_argument(
        "--gpus",
        type=_gpu_list,
        metavar="LIST",
        help="GPUs to measure: comma-separated indices (nvidia-smi order) or UUIDs "
        "(default: those CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES show, else all)",
    )
    p.add_argument("--no-store", action="store_true", help="do not write the run to the ledger")
    p.add_argument("--quiet", action="store_true", help="print no summary")
    add_db_option(p)
    add_context_options(p)
    add_server_options(p)
    p.set_defaults(handler=handle, accepts_command=True)
    add_deadline_options(p)  # --deadline: a carbon-aware start (wattwise.cli.schedule_run)


def _gpu_list(text: str) -> str:
    """``--gpus`` checked (:func:`wattwise.validate.check_gpu_list`), kept as given."""
    from wattwise.validate import check_gpu_list

    try:
        return ",".join(check_gpu_list(text, "--gpus"))
    except ConfigError as exc:  # argparse's own kind: one line naming the flag, exit 2
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--gpus: ")) from None


def resolve_command(command: list[str] | None) -> list[str]:
    """The command to run: the built-in workload when none was given."""
    if command is None:
        return list(BUILTIN_COMMAND)
    if not command or not command[0].strip():
        raise ConfigError(
            "empty command after '--': give a command to run, e.g. -- python train.py"
        )
    return command


def handle(args: argparse.Namespace) -> int:
    from wattwise.cli.footprint import context_from_args, footprint_lines, footprint_of
    from wattwise.cli.render import printable, run_summary
    from wattwise.cli.server import push_after_run as server_push
    from wattwise.errors import WattwiseError
    from wattwise.tracker.core import Tracker

    ctx = context_from_args(args)  # bad --country / --pue: one line, exit 2, nothing run
    command = resolve_command(args.target_command)
    refused = check_command(command)
    if refused is not None:
        sys.stderr.write(f"wattwise: {printable(refused[1])}\n")
        return refused[0]

    ledger = None
    if not args.no_store:
        from wattwise.ledger import Ledger

        ledger = Ledger.open(args.db, persistent=True)  # one clear line if it cannot be used
        for line in ledger.replayed:  # runs spooled earlier, now in the ledger
            sys.stderr.write(f"wattwise: {line}\n")
    name = args.name or ("builtin-demo" if args.target_command is None else Path(command[0]).name)
    gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
    tracker = Tracker(name, interval_s=args.interval, sink=ledger, command=command, gpus=gpus)
    on_poll = None
    poll_s = DEFAULT_POLL_S
    if args.total_steps is not None:
        poll_s = max(2.0, 3 * tracker.interval_s)
        on_poll = _forecaster(tracker, args.total_steps, ctx)
    # With --json, stdout carries only the JSON document: the command's output -> stderr.
    outcome = run_tracked(
        tracker, command, stdout=sys.stderr if args.json else None, poll_s=poll_s, on_poll=on_poll
    )
    if not outcome.started:
        sys.stderr.write(f"wattwise: {printable(outcome.error)}\n")
    exit_code = outcome.exit_code
    result = tracker.stop(exit_code=exit_code, status=outcome.status)
    footprint = None
    try:
        footprint = footprint_of(result, ctx)
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: footprint not computed: {exc}\n")
    if ledger is not None:
        _store_extras(ledger, result.run_id, ctx, footprint, settle=not outcome.signals)
    server_push(args, result, ctx)  # --server / $WATTWISE_SERVER_URL (wattwise.cli.server)
    if args.json:
        from wattwise.ledger.serialize import run_to_dict

        doc = run_to_dict(result)
        doc["footprint"] = footprint.to_dict() if footprint is not None else None
        jsonsafe.write(doc)
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


def _store_extras(ledger: Any, run_id: str, ctx: Any, footprint: Any, *, settle: bool) -> None:
    """The run's context and footprint into the ledger, then close it. ``settle``: when the
    writes were spooled under other writers' lock, wait a few seconds more for them to land
    (not after a signal: wattwise then stops promptly and a spooled run stays spooled)."""
    from wattwise.errors import WattwiseError

    try:
        ledger.set_extra(run_id, "context", ctx.to_dict())
        if footprint is not None:
            ledger.set_extra(run_id, "footprint", footprint.to_dict())
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: footprint not stored: {exc}\n")
    if settle:
        ledger.settle(run_id)
    ledger.close()


def _forecaster(tracker: Any, total_steps: int, ctx: Any) -> Callable[[], None]:
    """A callback printing a forecast of the whole run (once a step was reported).

    The first step runs from the command's start (imports, data loading): it counts in the
    totals but not in the per-step rate once another step is seen. Carbon is facility energy ×
    grid intensity with the site factors of ``ctx`` (:func:`_site_numbers`)."""
    from wattwise.errors import WattwiseError

    pue, intensity = _site_numbers(ctx)

    def show() -> None:
        fc = None
        for warmup in (1, 0):  # warm-up needs a second step; with one step, none
            try:
                fc = tracker.forecast(
                    total_steps, intensity_g_per_kwh=intensity, pue=pue, warmup_steps=warmup
                )
                break
            except WattwiseError:
                continue
        if fc is not None:  # None: no step yet
            _say(f"wattwise: forecast at {fc}")

    return show


def _say(text: str) -> None:
    """A line on stderr; a terminal that went away (SIGHUP) must not lose the run."""
    with contextlib.suppress(OSError):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _site_numbers(ctx: Any) -> tuple[float | None, float | None]:
    """(PUE, location-based gCO2e/kWh) of ``ctx`` from the one site resolver; (None, None)
    when it cannot resolve them (the forecast then shows no carbon)."""
    from wattwise.accounting.site import resolve_site
    from wattwise.errors import WattwiseError

    try:
        site = resolve_site(ctx)
    except WattwiseError:
        return None, None
    return site.pue.value, site.intensity_location_g_per_kwh.value

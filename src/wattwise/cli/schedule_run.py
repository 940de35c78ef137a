"""``wattwise run --deadline T [--interruptible] [--dry-run] -- CMD``: start at the planned time.

:func:`add_deadline_options` adds the options to ``run`` and wraps its handler: without
``--deadline`` nothing changes. With it, the job (``--duration``, its expected run time) is
planned on the region's signal, the plan and a countdown are printed, the command runs and is
measured as usual, paused between pieces with ``--interruptible``, and the stored run gets a
``schedule`` extra: the plan and the carbon saved against starting at once (measured energy
× the difference of the two mean intensities on the same signal).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from wattwise.errors import ConfigError, WattwiseError

Handler = Callable[[argparse.Namespace], int]
#: The clock used by the wrapped handler (tests put a fake one here).
CLOCK: list[Any] = []


def add_deadline_options(p: argparse.ArgumentParser) -> None:
    """Add --deadline & co. to ``run`` and wrap its handler (call after ``set_defaults``)."""
    from wattwise.cli.schedule import add_plan_options

    g = p.add_argument_group("carbon-aware start (wattwise schedule)")
    add_plan_options(g, for_run=True)
    g.add_argument(
        "--duration",
        dest="expected_duration",
        metavar="DURATION",
        help="with --deadline: how long the command is expected to run (4h, 90m)",
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        help="with --deadline: print the plan and exit without running",
    )
    inner: Handler = p.get_default("handler")
    p.set_defaults(handler=lambda args: scheduled(args, inner))


def _say(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def _regions(args: argparse.Namespace) -> tuple[str, ...]:
    """--region of the plan (our own dest), else the run's context: cloud region or country."""
    if args.plan_region:
        return tuple(args.plan_region)
    cloud, cloud_region = getattr(args, "ctx_cloud", None), getattr(args, "ctx_cloud_region", None)
    if cloud and cloud_region:
        return (f"{cloud}:{cloud_region}",)
    country = getattr(args, "ctx_country", None)
    if country:
        return (str(country),)
    raise ConfigError(
        "--deadline needs where the job runs: --grid, or --cloud with "
        "--cloud-region, or --country GB"
    )


def scheduled(args: argparse.Namespace, inner: Handler) -> int:
    """The ``run`` handler with a carbon-aware start."""
    if args.deadline is None:
        if args.interruptible or args.dry_run or args.expected_duration:
            raise ConfigError("--interruptible, --dry-run and --duration need --deadline")
        return inner(args)
    from wattwise.cli.schedule import request_from_args, signal_function
    from wattwise.schedule.control import Pauser, SystemClock, wait_until
    from wattwise.schedule.document import human_lines
    from wattwise.schedule.job import Job, parse_hours
    from wattwise.schedule.plan import make_schedule

    if not args.expected_duration:
        raise ConfigError("--deadline needs --duration (how long the command is expected to run)")
    clock = CLOCK[0] if CLOCK else SystemClock()
    job = Job(
        1.0 * parse_hours(args.expected_duration),
        parse_hours(args.expected_duration),
        "expected duration at a nominal 1 kW (the saving is scaled to the measured energy)",
    )
    args.plan_region = list(_regions(args))
    schedule = make_schedule(request_from_args(args, job, now=clock.now()), signal_function(args))
    for line in human_lines(schedule):
        _say(f"wattwise: {line}")
    if schedule.chosen is not schedule.baseline:
        _say(
            f"wattwise: the plan prefers {schedule.chosen.region.region}: run it there; "
            f"here only the start time of {schedule.baseline.region.region} is applied"
        )
    if args.dry_run:
        return 0
    here = schedule.baseline  # we run where we are: the time plan of this region
    pieces = tuple((schedule.time_of(a), schedule.time_of(b)) for a, b in here.plan.pieces)
    wait_until(pieces[0][0], clock, _say)
    launched = datetime.now(timezone.utc)  # the real time: the ledger's clock
    pauser = None
    if args.interruptible and len(pieces) > 1:
        pauser = Pauser(pieces, _child_pid, clock)
        pauser.start()
    try:
        code = inner(args)
    finally:
        if pauser is not None:
            pauser.stop()
    if not args.no_store:
        _record(args, schedule, launched, pauser.pauses if pauser else 0)
    return code


def _child_pid() -> int | None:
    """The command wattwise runs: our child with a WATTWISE_RUN_ID in its environment."""
    import psutil

    for child in psutil.Process(os.getpid()).children():
        try:
            if "WATTWISE_RUN_ID" in child.environ():
                return int(child.pid)
        except psutil.Error:
            continue
    return None


def _record(args: argparse.Namespace, schedule: Any, launched: datetime, pauses: int) -> None:
    """The plan and the carbon saved into the newest run started since ``launched``."""
    from wattwise.ledger import Ledger
    from wattwise.schedule.document import to_dict

    try:
        led = Ledger.open(args.db, persistent=True)
        try:
            from wattwise.ledger.rows import parse_time

            since = launched - timedelta(seconds=5)
            runs = [
                r for r in led.list_runs(limit=5) if (parse_time(r.started_at) or since) > since
            ]
            if not runs:
                return
            run = runs[0]
            here = schedule.baseline
            energy_kwh = run.total_energy_j / 3.6e6
            saved_kg = energy_kwh * (here.now.mean_g_per_kwh - here.plan.mean_g_per_kwh) / 1000
            doc = to_dict(schedule)
            doc.pop("regions", None)
            doc["applied"] = {
                "region": here.region.region,
                "pauses": pauses,
                "energy_kwh_measured": energy_kwh,
                "co2e_saved_kg": saved_kg,
            }
            led.set_extra(run.run_id, "schedule", doc)
            _say(
                f"wattwise: carbon saved against starting at once: {saved_kg * 1000:.4g} g "
                f"CO2e ({schedule.chosen.curve.forecast} signal)"
            )
        finally:
            led.close()
    except WattwiseError as exc:
        _say(f"wattwise: schedule not stored: {exc}")

"""``wattwise schedule``: when (and where) a job emits least, from hourly grid data."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError

#: The window when no --deadline is given: a day from the earliest start.
DEFAULT_WINDOW = timedelta(hours=24)
#: Bounds of the numeric flags: a 100 MW cluster, a year of it, a petabyte moved.
MAX_POWER_KW = 1e5
MAX_ENERGY_KWH = MAX_POWER_KW * 24 * 366
MAX_DATA_GB = 1e6


def add_plan_options(p: argparse._ActionsContainer, *, for_run: bool = False) -> None:
    """The window, region and planning options shared by ``schedule`` and ``run``."""
    from wattwise.argtypes import number

    if not for_run:
        p.add_argument(
            "--earliest", metavar="TIME", help="earliest start, ISO 8601 with a zone (default: now)"
        )
    p.add_argument(
        "--deadline",
        metavar="TIME",
        help="when the job must have finished, ISO 8601 with a zone"
        + (
            " (enables carbon-aware start)"
            if for_run
            else " (default: 24 h after the earliest start)"
        ),
    )
    p.add_argument(
        "--grid" if for_run else "--region",
        dest="plan_region",
        action="append",
        metavar="REGION",
        help="where it may run (repeat for a choice; the first is where it would run "
        "now): a grid (CISO, ERCO, PJM, GB ...), a country with one grid (GB), or a "
        "cloud region (aws:us-west-2, gcp:us-central1, azure:uksouth)"
        + (" (default: --cloud with --cloud-region, else --country)" if for_run else ""),
    )
    p.add_argument(
        "--interruptible",
        action="store_true",
        help="the job may run in pieces (whole hours)"
        + (": wattwise pauses it (SIGSTOP/SIGCONT) between them" if for_run else ""),
    )
    p.add_argument(
        "--min-chunk",
        default="1h",
        metavar="DURATION",
        help="shortest piece of an interruptible job, whole hours (default 1h)",
    )
    p.add_argument(
        "--objective",
        choices=("carbon", "cost"),
        default="carbon",
        help="least carbon (default) or least cost at the region's retail price",
    )
    p.add_argument(
        "--signal",
        choices=("average", "marginal"),
        default="average",
        help="average intensity (default) or modelled marginal (ERCO only)",
    )
    p.add_argument(
        "--data-gb",
        type=number(low=0.0, high=MAX_DATA_GB),
        default=0.0,
        metavar="GB",
        help="data moved to another region: its network energy is counted",
    )
    p.add_argument(
        "--provider",
        metavar="NAME",
        help="a live forecast, opt-in (default: the shipped history): gb-carbon-intensity "
        "(no key), electricitymaps ($WATTWISE_ELECTRICITYMAPS_TOKEN), watttime "
        "($WATTWISE_WATTTIME_USER, $WATTWISE_WATTTIME_PASSWORD; marginal), carbon-aware-sdk "
        "($WATTWISE_CARBON_AWARE_URL)",
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number, whole
    from wattwise.cli import add_db_option

    p = sub.add_parser(
        "schedule",
        help="when and where to run a job for the least carbon",
        description="Plan a job's start (or pieces) and region for the least carbon or cost "
        "inside a window, from hourly grid data shipped with wattwise (historical hours inside "
        "a shipped series, else the history as an assumed forecast) or a live provider "
        "configured by the user. Give the job's energy one way: --energy-kwh with --duration, "
        "--duration with --power-kw, --run ID, or --estimate FILE.",
    )
    p.add_argument(
        "--energy-kwh",
        type=number(low=0.0, high=MAX_ENERGY_KWH, low_inclusive=False),
        metavar="KWH",
        help="the job's energy",
    )
    p.add_argument("--duration", metavar="DURATION", help="how long it runs: 4h, 90m, 1.5d")
    p.add_argument(
        "--power-kw",
        type=number(low=0.0, high=MAX_POWER_KW, low_inclusive=False),
        metavar="KW",
        help="its average power",
    )
    p.add_argument("--run", metavar="ID", help="a stored run: its energy and duration")
    p.add_argument(
        "--jobs",
        type=whole(low=1, high=1000),
        default=1,
        metavar="N",
        help="N such jobs, one after another on the same machines, each run whole "
        "(a week of fine-tunes): each is placed in its own low-carbon hours",
    )
    p.add_argument(
        "--estimate",
        metavar="FILE",
        help="JSON of 'wattwise estimate train|finetune --json' ('-' = stdin)",
    )
    add_plan_options(p)
    p.add_argument("--json", action="store_true", help="print the schedule as JSON")
    add_db_option(p)
    p.set_defaults(handler=handle)


def job_from_args(args: argparse.Namespace) -> Any:
    """The job from exactly one of the energy inputs."""
    from wattwise.schedule.job import Job, job_from_estimate, job_from_run, parse_hours

    given = [
        n
        for n in ("energy_kwh", "power_kw", "run", "estimate")
        if getattr(args, n, None) is not None
    ]
    duration = parse_hours(args.duration) if args.duration else None
    if args.run is not None or args.estimate is not None:
        if len(given) > 1:
            raise ConfigError("give the job one way: --run, --estimate, --energy-kwh or --power-kw")
        if args.run is not None:
            from wattwise.ledger import Ledger

            led = Ledger.open(args.db, readonly=True)
            try:
                r = led.get_run(args.run, with_samples=False)
            finally:
                led.close()
            job = job_from_run(r.run_id, r.energy.total_j, r.duration_s, r.energy.label)
        else:
            job = job_from_estimate(_read_json(args.estimate))
        return job if duration is None else Job(job.energy_kwh, duration, job.source)
    if duration is None:
        raise ConfigError("give --duration (with --energy-kwh or --power-kw), --run or --estimate")
    if args.energy_kwh is not None and args.power_kw is not None:
        raise ConfigError("give --energy-kwh or --power-kw, not both")
    if args.energy_kwh is not None:
        return Job(args.energy_kwh, duration, "given: energy and duration")
    if args.power_kw is not None:
        return Job(args.power_kw * duration, duration, "given: power x duration")
    raise ConfigError("give the job's energy: --energy-kwh, --power-kw, --run or --estimate")


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        return json.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read --estimate {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--estimate {path} is not JSON: {exc}") from None


def request_from_args(args: argparse.Namespace, job: Any, now: datetime | None = None) -> Any:
    """The :class:`~wattwise.schedule.plan.Request` of the window and planning options."""
    from wattwise.schedule.job import parse_hours, parse_time
    from wattwise.schedule.plan import Request

    start = (
        parse_time(args.earliest, "--earliest")
        if getattr(args, "earliest", None)
        else (now or datetime.now(timezone.utc))
    )
    deadline = (
        parse_time(args.deadline, "--deadline")
        if args.deadline
        else start + max(DEFAULT_WINDOW, timedelta(hours=job.duration_h))
    )
    chunk_h = parse_hours(args.min_chunk, "--min-chunk")
    if chunk_h != int(chunk_h):
        raise ConfigError(f"--min-chunk {args.min_chunk!r}: give whole hours")
    return Request(
        job=job,
        earliest_utc=start,
        deadline_utc=deadline,
        regions=tuple(args.plan_region or ()),
        interruptible=args.interruptible,
        min_chunk_h=int(chunk_h),
        objective=args.objective,
        signal=args.signal,
        data_gb=args.data_gb,
        jobs=getattr(args, "jobs", 1),
    )


def signal_function(args: argparse.Namespace) -> Any:
    """The shipped history, or the live provider the user named."""
    from wattwise.schedule.signals import offline_signal

    if getattr(args, "provider", None):
        from wattwise.schedule.providers import provider_signal

        return provider_signal(args.provider)
    return offline_signal


def handle(args: argparse.Namespace) -> int:
    from wattwise.schedule.document import human_lines, to_dict
    from wattwise.schedule.plan import make_schedule

    if not args.plan_region:
        raise ConfigError("give --region (a grid such as CISO or GB, or a cloud region)")
    from wattwise.schedule.job import Job

    one = job_from_args(args)
    n = args.jobs
    job = one if n == 1 else Job(one.energy_kwh * n, one.duration_h * n, f"{n} x {one.source}")
    schedule = make_schedule(request_from_args(args, job), signal_function(args))
    if args.json:
        jsonsafe.write(to_dict(schedule))
        return 0
    sys.stdout.write("\n".join(human_lines(schedule)) + "\n")
    return 0

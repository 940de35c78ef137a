"""``wattwise runs list|show|export``: the runs stored in the ledger."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError

#: Most runs ``runs list`` prints at once.
MAX_LIMIT = 1_000_000


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import whole
    from wattwise.cli import Parser, add_db_option
    from wattwise.cli.footprint import add_context_options

    p = sub.add_parser("runs", help="list, show and export stored runs")
    rs = p.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", parser_class=Parser)
    ls = rs.add_parser("list", help="the latest runs")
    ls.add_argument(
        "--limit",
        type=whole(low=1, high=MAX_LIMIT),
        default=20,
        help=f"how many runs (default 20, at most {MAX_LIMIT:,})",
    )
    ls.add_argument("--json", action="store_true")
    add_db_option(ls)
    ls.set_defaults(handler=handle_list)
    show = rs.add_parser("show", help="one run, by id or unique id prefix")
    show.add_argument("run_id", metavar="ID")
    show.add_argument("--json", action="store_true")
    add_db_option(show)
    add_context_options(show)
    show.set_defaults(handler=handle_show)
    ex = rs.add_parser(
        "export",
        help="export runs as CSV or JSON to stdout or a file",
        description="Export stored runs with their windows, counts, energy per unit and "
        "footprint (CO2e, cost), accounted in each run's stored context unless context flags "
        "are given (as 'runs show'). JSON: one document per run. CSV: one row per run and "
        "device with the run's footprint columns, or with --windows one row per window.",
    )
    ex.add_argument("--format", choices=("csv", "json"), default="json")
    ex.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    ex.add_argument(
        "--windows",
        action="store_true",
        help="CSV: one row per window (energy, provenance, counts, energy per unit) instead "
        "of one per device",
    )
    ex.add_argument("run_ids", nargs="*", metavar="ID", help="only these runs (default all)")
    add_db_option(ex)
    add_context_options(ex)
    ex.set_defaults(handler=handle_export)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])


def _open(args: argparse.Namespace) -> Any:
    """The ledger, read-only — after replaying any runs that wait in its spool."""
    from wattwise.ledger import Ledger
    from wattwise.ledger.location import resolve_location
    from wattwise.ledger.spool import pending_files

    if pending_files(resolve_location(args.db)):
        _replay_spool(args.db)
    return Ledger.open(args.db, readonly=True)


def _replay_spool(db: str | None) -> None:
    """Replay spooled runs (written while the ledger was unusable) so that a read command shows
    them: a writable open replays them and says so. A ledger that still cannot be written is
    read as it is; ``runs list`` then says which runs wait."""
    from wattwise.errors import WattwiseError
    from wattwise.ledger import Ledger

    try:
        led = Ledger.open(db)
    except WattwiseError:
        return
    try:
        for line in led.replayed:
            sys.stderr.write(f"wattwise: {line}\n")
    finally:
        led.close()


def handle_list(args: argparse.Namespace) -> int:
    from wattwise.cli.render import printable
    from wattwise.units import format_duration, format_energy

    led = _open(args)
    try:
        runs = led.list_runs(limit=args.limit)
        if spooled := led.pending_spool():
            sys.stderr.write(
                f"wattwise: {len(spooled)} run(s) wait in a local spool ({spooled[0].parent}) and "
                "are replayed into the ledger by the next command that writes to it\n"
            )
    finally:
        led.close()
    if args.json:
        jsonsafe.write([_summary_dict(r) for r in runs])
        return 0
    if not runs:
        sys.stdout.write("no runs yet: try 'wattwise run'\n")
        return 0
    sys.stdout.write(
        f"{'ID':<12}  {'STARTED (UTC)':<19}  {'STATUS':<11}  {'DURATION':>9}  "
        f"{'ENERGY':>10}  {'PROVENANCE':<28}  NAME\n"
    )
    for r in runs:
        line = (
            f"{r.run_id[:12]:<12}  {r.started_at[:19].replace('T', ' '):<19}  {r.status:<11}  "
            f"{format_duration(r.duration_s or 0.0):>9}  "
            f"{format_energy(r.total_energy_j or 0.0):>10}"
            f"  {r.provenance:<28}  {r.name}"
        )
        sys.stdout.write(printable(line) + "\n")
    return 0


def _summary_dict(r: Any) -> dict[str, Any]:
    import dataclasses

    d = dataclasses.asdict(r)
    if d.get("command") is not None:
        d["command"] = list(d["command"])
    return d


def handle_show(args: argparse.Namespace) -> int:
    """Show a stored run, re-accounted under the flags given (the run is not rerun)."""
    from wattwise.cli.footprint import context_from_args, footprint_lines, footprint_of
    from wattwise.cli.render import run_summary
    from wattwise.ledger.serialize import run_to_dict

    led = _open(args)
    try:
        result = led.get_run(args.run_id)
        extra = led.get_extra(result.run_id)
    finally:
        led.close()
    ctx = context_from_args(args, stored=extra.get("context") or {})
    footprint = footprint_of(result, ctx)
    if args.json:
        doc = run_to_dict(result)
        doc["footprint"] = footprint.to_dict()
        jsonsafe.write(doc)
    else:
        sys.stdout.write("\n".join([run_summary(result), *footprint_lines(footprint)]) + "\n")
    return 0


def handle_export(args: argparse.Namespace) -> int:
    """Export runs with their windows, counts and footprint (:mod:`wattwise.report.runexport`)."""
    from wattwise.ledger.location import ledger_files
    from wattwise.outputs import atomic_output, check_output_path
    from wattwise.report.runexport import write_export

    if args.windows and args.format != "csv":
        raise ConfigError("--windows selects the CSV table: give --format csv (JSON has windows)")
    # Before the ledger is opened: never onto the ledger itself; written atomically, so a
    # failed export (an unknown id) leaves a previous file as it was.
    out = check_output_path(args.out, ledger_paths=ledger_files(args.db)) if args.out else None
    led = _open(args)
    try:
        if args.run_ids:
            ids = [led.resolve_run_id(r) for r in args.run_ids]  # unknown id: fails here
        else:  # every run, oldest first
            every = led.list_runs(limit=2**62)
            ids = [r.run_id for r in sorted(every, key=lambda r: (r.started_at, r.run_id))]
        runs = (_accounted(led, run_id, args) for run_id in ids)
        if out is not None:
            try:
                with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
                    write_export(args.format, f, runs, windows=args.windows)
            except OSError as exc:
                raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        else:
            write_export(args.format, sys.stdout, runs, windows=args.windows)
    finally:
        led.close()
    return 0


def _accounted(led: Any, run_id: str, args: argparse.Namespace) -> tuple[Any, Any]:
    """(run, footprint in its stored context, or the flags given), as ``runs show`` has it."""
    from wattwise.cli.footprint import context_from_args, footprint_of

    result = led.get_run(run_id, with_samples=False)
    ctx = context_from_args(args, stored=led.get_extra(run_id).get("context") or {})
    return result, footprint_of(result, ctx)

"""``wattwise runs list|show|export``: the runs stored in the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.cli import Parser, add_db_option
    from wattwise.cli.footprint import add_context_options

    p = sub.add_parser("runs", help="list, show and export stored runs")
    rs = p.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", parser_class=Parser)
    ls = rs.add_parser("list", help="the latest runs")
    ls.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    ls.add_argument("--json", action="store_true")
    add_db_option(ls)
    ls.set_defaults(handler=handle_list)
    show = rs.add_parser("show", help="one run, by id or unique id prefix")
    show.add_argument("run_id", metavar="ID")
    show.add_argument("--json", action="store_true")
    add_db_option(show)
    add_context_options(show)
    show.set_defaults(handler=handle_show)
    ex = rs.add_parser("export", help="export runs as CSV or JSON to stdout or a file")
    ex.add_argument("--format", choices=("csv", "json"), default="json")
    ex.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    ex.add_argument("run_ids", nargs="*", metavar="ID", help="only these runs (default all)")
    add_db_option(ex)
    ex.set_defaults(handler=handle_export)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])


def _open(args: argparse.Namespace) -> Any:
    from wattwise.ledger import Ledger

    return Ledger.open(args.db, readonly=True)


def handle_list(args: argparse.Namespace) -> int:
    from wattwise.units import format_duration, format_energy

    if args.limit <= 0:
        raise ConfigError("--limit must be a positive number")
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
        json.dump([_summary_dict(r) for r in runs], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not runs:
        sys.stdout.write("no runs yet: try 'wattwise run'\n")
        return 0
    sys.stdout.write(
        f"{'ID':<12}  {'STARTED (UTC)':<19}  {'STATUS':<11}  {'DURATION':>9}  "
        f"{'ENERGY':>10}  {'PROVENANCE':<28}  NAME\n"
    )
    for r in runs:
        sys.stdout.write(
            f"{r.run_id[:12]:<12}  {r.started_at[:19].replace('T', ' '):<19}  {r.status:<11}  "
            f"{format_duration(r.duration_s or 0.0):>9}  "
            f"{format_energy(r.total_energy_j or 0.0):>10}"
            f"  {r.provenance:<28}  {r.name}\n"
        )
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
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join([run_summary(result), *footprint_lines(footprint)]) + "\n")
    return 0


def handle_export(args: argparse.Namespace) -> int:
    led = _open(args)
    try:
        if args.out:
            try:
                with open(args.out, "w", encoding="utf-8", newline="") as f:
                    led.export(args.format, f, run_ids=args.run_ids or None)
            except OSError as exc:
                raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        else:
            led.export(args.format, sys.stdout, run_ids=args.run_ids or None)
    finally:
        led.close()
    return 0

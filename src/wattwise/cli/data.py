"""``wattwise data list|show|search``: the shipped reference tables and where they came from."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from wattwise import jsonsafe


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import whole
    from wattwise.cli import Parser

    p = sub.add_parser("data", help="list, show and search the shipped reference data")
    ds = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", parser_class=Parser)
    ls = ds.add_parser("list", help="every table with its source, year and licence")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=handle_list)
    show = ds.add_parser("show", help="a table's source and rows")
    show.add_argument("table", help="table name, e.g. grid_country.csv (see 'data list')")
    show.add_argument(
        "--limit", type=whole(low=0, high=10_000_000), default=50, help="rows to print (0 = all)"
    )
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=handle_show)
    se = ds.add_parser("search", help="rows that contain every word of QUERY")
    se.add_argument("query", nargs="+")
    se.add_argument("--json", action="store_true")
    se.set_defaults(handler=handle_search)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])


def handle_list(args: argparse.Namespace) -> int:
    import dataclasses

    from wattwise.data import data_catalog

    tables = data_catalog()
    if args.json:
        jsonsafe.write([dataclasses.asdict(t) for t in tables])
        return 0
    for t in tables:
        sys.stdout.write(
            f"{t.name}\n  {t.title}\n  units: {t.units}; year: {t.year}; "
            f"licence: {t.licence}\n  source: {t.source}\n"
        )
    return 0


def handle_show(args: argparse.Namespace) -> int:
    import dataclasses

    from wattwise.data.catalog import show_table, table_info

    info = table_info(args.table)
    rows = show_table(info.name)
    shown = rows if args.limit <= 0 else rows[: args.limit]
    if args.json:
        jsonsafe.write({"table": dataclasses.asdict(info), "rows": shown})
        return 0
    sys.stdout.write(
        f"# {info.name}: {info.title}\n# source: {info.source}\n"
        f"# licence: {info.licence}; year: {info.year}; units: {info.units}\n"
    )
    if shown:
        w = csv.DictWriter(sys.stdout, fieldnames=list(shown[0]))
        w.writeheader()
        w.writerows(shown)
    if len(shown) < len(rows):
        sys.stdout.write(f"# ... {len(rows) - len(shown)} more rows (--limit 0 for all)\n")
    return 0


def handle_search(args: argparse.Namespace) -> int:
    from wattwise.data import search_data

    hits = search_data(" ".join(args.query))
    if args.json:
        jsonsafe.write([{"table": h.table, "line": h.line, "row": h.row} for h in hits])
        return 0
    if not hits:
        sys.stdout.write("no row matches\n")
    for h in hits:
        cells = ", ".join(f"{k}={v}" for k, v in h.row.items() if v)
        sys.stdout.write(f"{h.table}:{h.line}: {cells}\n")
    return 0

"""``wattwise estimate compare --hardware A,B,C -- infer|image|video|train ...``.

The workload after ``--`` takes the flags of that estimate command (``--hardware`` aside); it is
estimated once per accelerator and shown as one table sorted by facility Wh per unit
(:mod:`wattwise.estimate.compare`), each row with its provenance. An accelerator whose energy
cannot be estimated (no published chip power, or a model that does not fit) stays in the table
with the reason. Exit codes as for the other estimate commands: 0, 2 on bad input, 1 on a data
error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError, UnknownKeyError, WattwiseError

WORKLOADS: tuple[str, ...] = ("infer", "image", "video", "train")
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register_compare(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``estimate compare`` to the ``estimate`` sub-parsers."""
    p = sub.add_parser(
        "compare",
        help="one workload on several accelerators, side by side",
        description="Estimate one workload on several accelerators: wattwise estimate compare "
        "--hardware h100,a100-80gb,l4 -- infer --params 8B --input-tokens 500 --output-tokens 300",
    )
    p.add_argument("--hardware", required=True, metavar="A,B,...",
                   help="comma-separated accelerators (see 'estimate hardware list')")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON (raw numbers)")
    # the workload comes after `--`: the main parser hands it over as ``target_command``
    p.set_defaults(handler=handle_compare, accepts_command=True)


def _parse_workload(rest: list[str], first: str) -> argparse.Namespace:
    """The workload's flags, parsed by the parser of its estimate command."""
    from wattwise.cli.estimate import add_settings

    command = rest[0]
    parser = argparse.ArgumentParser(prog=f"wattwise estimate compare -- {command}")
    add_settings(parser, command)
    ns = parser.parse_args([*rest[1:], "--hardware", first])
    ns.estimate_command = command
    return ns


def _context(ns: argparse.Namespace) -> Any:
    from wattwise.accounting.context import default_config_paths
    from wattwise.estimate.settings import inputs_from, settings_for

    values = {s.name: getattr(ns, s.name) for s in settings_for(ns.estimate_command)}
    _, site = inputs_from(ns.estimate_command, values)
    return site.context(os.environ, default_config_paths(Path.cwd()))


def compare_rows(
    ns: argparse.Namespace, names: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per accelerator (sorted) and the site's factors (each with its source and
    year); ConfigError for an unknown accelerator name."""
    from wattwise.cli.estimate import run_estimate
    from wattwise.estimate.compare import error_row, row, sort_rows

    ctx = _context(ns)
    site = [dict(a.to_dict()) for a in ctx.assumptions()]
    rows = []
    for name in names:
        ns.hardware = name
        try:
            data = run_estimate(ns).to_dict()
        except UnknownKeyError:
            raise
        except ConfigError as exc:
            why = str(exc)
            label = "not shipped: " if "no published TDP" in why else "cannot estimate: "
            rows.append(error_row(ns.estimate_command, name, label + why))
            continue
        rows.append(row(ns.estimate_command, name, data, ctx))
    return sort_rows(rows), site


def handle_compare(args: argparse.Namespace) -> int:
    """``estimate compare``: the table (or JSON rows)."""
    rest = list(getattr(args, "target_command", None) or [])
    names = [h.strip() for h in args.hardware.split(",") if h.strip()]
    if not rest or rest[0] not in WORKLOADS or not names:
        sys.stderr.write(
            "wattwise: error: give --hardware A,B and a workload after --: "
            f"{' | '.join(WORKLOADS)} with its flags\n"
        )
        return EXIT_USAGE
    try:
        rows, site = compare_rows(_parse_workload(rest, names[0]), names)
    except ConfigError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_USAGE
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_ERROR
    if args.json:
        jsonsafe.write({"workload": rest[0], "rows": rows, "site": site})
    else:
        from wattwise.cli.estimate_render import compare_table

        sys.stdout.write(compare_table(rows) + "\n")
        for a in site:
            sys.stdout.write(f"site: {a['name']} = {a['value']} {a['unit']} [{a['provenance']}]"
                             f" {a['source']}\n")  # fmt: skip
    return EXIT_OK


__all__ = ["WORKLOADS", "compare_rows", "handle_compare", "register_compare"]

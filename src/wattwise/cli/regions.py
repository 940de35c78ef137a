"""``wattwise compare-regions ID``: one stored run's carbon and cost across many places."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import whole
    from wattwise.cli import add_db_option
    from wattwise.cli.footprint import add_context_options

    p = sub.add_parser(
        "compare-regions",
        help="a stored run's carbon and cost in other countries, grids and cloud regions",
        description="Account the energy of a stored run in many places, sorted by "
        "location-based carbon (lowest first). PUE, price and market settings are kept.",
    )
    p.add_argument("run_id", metavar="ID", help="run id or unique prefix")
    p.add_argument(
        "--kinds",
        default="country,subnational,cloud",
        help="comma-separated: country, subnational, cloud (default all)",
    )
    p.add_argument("--keys", help="comma-separated places instead: FR,US-CA,aws:us-east-1,...")
    p.add_argument(
        "--top",
        type=whole(low=0, high=100_000),
        default=25,
        help="rows to show (default 25; 0 = all)",
    )
    p.add_argument("--json", action="store_true")
    add_db_option(p)
    add_context_options(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from wattwise.accounting import compare_regions
    from wattwise.accounting.compare import KINDS, default_keys
    from wattwise.cli.footprint import context_from_args, embodied_devices
    from wattwise.ledger import Ledger

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ConfigError(f"unknown --kinds {', '.join(bad)}; choose from {', '.join(KINDS)}")
    led = Ledger.open(args.db, readonly=True)
    try:
        result = led.get_run(args.run_id)
        extra = led.get_extra(result.run_id)
    finally:
        led.close()
    ctx = context_from_args(args, stored=extra.get("context") or {})
    keys = [k.strip() for k in args.keys.split(",")] if args.keys else default_keys(kinds)
    rows = compare_regions(
        result.energy.total_j,
        result.duration_s,
        ctx,
        keys,
        result.energy.label,
        embodied_devices(result),
    )
    kept = [r for r in rows if not r.flag]
    flagged = [r for r in rows if r.flag]
    shown = kept if args.top == 0 else kept[: args.top]
    if args.json:
        doc = {
            "run_id": result.run_id,
            "energy_j": result.energy.total_j,
            "provenance": result.energy.label,
            "rows": [_row_doc(r) for r in shown],
            "flagged": [_row_doc(r) for r in flagged],
        }
        jsonsafe.write(doc)
        return 0
    from wattwise.cli.render import printable_lines

    sys.stdout.write(printable_lines(human_lines(result, kept, shown, flagged)) + "\n")
    return 0


def _row_doc(r: Any) -> dict[str, Any]:
    return {
        "key": r.key,
        "kind": r.kind,
        "name": r.name,
        "year": r.year,
        "basis": r.basis,
        "intensity_g_per_kwh": r.intensity_g_per_kwh,
        "pue": r.pue,
        "facility_energy_kwh": r.facility_energy_kwh,
        "co2e_location_g": r.co2e_location_g,
        "co2e_market_g": r.co2e_market_g,
        "cost": {"value": r.cost.value, "currency": r.cost.currency} if r.cost else None,
        "price_basis": r.price_basis,
        "source": r.source,
        "flag": r.flag,
    }


def columns(head: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows of text cells as aligned lines: each column as wide as its widest cell (long
    place names included), columns in ``right`` right-aligned."""
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(head), *(line(r) for r in rows)]


def human_lines(result: Any, kept: list[Any], shown: list[Any], flagged: list[Any]) -> list[str]:
    """The human table: SI units and grouped digits, each grid factor's data year, prices
    labelled by what they are, implausible source figures left out with the reason."""
    from wattwise.accounting.money import UNKNOWN_PRICE
    from wattwise.units import format_energy, format_mass_g, format_number

    out = [
        f"run {result.run_id[:12]}: {format_energy(result.energy.total_j)} "
        f"({result.energy.label}), {len(kept)} places, lowest carbon first"
    ]
    cells = [
        [
            r.key,
            r.kind,
            format_number(r.intensity_g_per_kwh),
            str(r.year) if r.year is not None else "n/s",
            format_number(r.pue),
            format_mass_g(r.co2e_location_g),
            format_mass_g(r.co2e_market_g),
            f"{format_number(r.cost.value)} {r.cost.currency}"
            + (f" ({r.price_basis})" if r.price_basis else "")
            if r.cost
            else UNKNOWN_PRICE,
        ]
        for r in shown
    ]
    head = ["PLACE", "KIND", "g/kWh", "YEAR", "PUE", "CO2e loc", "CO2e mkt", "COST"]
    out += columns(head, cells, {2, 3, 4, 5, 6})
    if any(r.year is None for r in shown):
        out.append("  YEAR n/s: the grid factor's source states no data year")
    if len(shown) < len(kept):
        out.append(f"  ... {len(kept) - len(shown)} more (--top 0 for all)")
    for r in flagged:
        out.append(f"  left out: {r.key} ({r.name}): {r.flag}")
    return out

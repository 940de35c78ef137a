"""``wattwise compare-regions ID``: one stored run's carbon and cost across many places."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
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
    p.add_argument("--top", type=int, default=25, help="rows to show (default 25; 0 = all)")
    p.add_argument("--json", action="store_true")
    add_db_option(p)
    add_context_options(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from wattwise.accounting import compare_regions
    from wattwise.accounting.compare import KINDS, default_keys
    from wattwise.cli.footprint import context_from_args, embodied_devices
    from wattwise.ledger import Ledger
    from wattwise.units import format_mass_g

    if args.top < 0:
        raise ConfigError("--top must be 0 (all) or a positive number")
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
    shown = rows if args.top == 0 else rows[: args.top]
    if args.json:
        doc = {
            "run_id": result.run_id,
            "energy_j": result.energy.total_j,
            "provenance": result.energy.label,
            "rows": [
                {
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
                    "cost": {"value": r.cost.value, "currency": r.cost.currency}
                    if r.cost
                    else None,
                    "source": r.source,
                }
                for r in shown
            ],
        }
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = [
        f"run {result.run_id[:12]}: {result.energy.total_j:.4g} J ({result.energy.label}), "
        f"{len(rows)} places, lowest carbon first",
        f"  {'PLACE':<26} {'KIND':<11} {'g/kWh':>7} {'PUE':>5} {'CO2e loc':>10} "
        f"{'CO2e mkt':>10} {'COST':>12}",
    ]
    for r in shown:
        cost = f"{r.cost.value:.3g} {r.cost.currency}" if r.cost else "-"
        out.append(
            f"  {r.key:<26} {r.kind:<11} {r.intensity_g_per_kwh:>7.0f} {r.pue:>5.3g} "
            f"{format_mass_g(r.co2e_location_g):>10} {format_mass_g(r.co2e_market_g):>10} "
            f"{cost:>12}"
        )
    if len(shown) < len(rows):
        out.append(f"  ... {len(rows) - len(shown)} more (--top 0 for all)")
    sys.stdout.write("\n".join(out) + "\n")
    return 0

"""Accounting on the command line: context flags, footprints of runs, region comparisons.

The flags come from the one declarative table :data:`wattwise.accounting.context.SETTINGS`, so
every command that accounts energy accepts the same options, environment variables and config
keys (``[tool.wattwise]`` in pyproject.toml, or ``wattwise.toml``, in the current directory).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattwise.accounting.runs import embodied_devices as embodied_devices
from wattwise.accounting.runs import footprint_of as footprint_of
from wattwise.units import format_energy, format_mass_g, format_si, kwh_to_j

if TYPE_CHECKING:
    from wattwise.accounting import Context, Footprint


def add_context_options(p: argparse.ArgumentParser) -> None:
    """Add ``--country``, ``--region``, ``--cloud``, ``--pue``, ... (all default None)."""
    from wattwise.accounting.context import SETTINGS, flag_type

    g = p.add_argument_group(
        "accounting context",
        "where the energy was used (flags > WATTWISE_* environment > [tool.wattwise] config)",
    )
    for s in SETTINGS:
        g.add_argument(
            s.flag,
            dest=f"ctx_{s.field}",
            type=flag_type(s),
            default=None,
            help=s.help,
            metavar=s.kind.__name__.upper(),
        )
    g.add_argument(
        "--detect-cloud",
        action="store_true",
        help="ask the cloud instance metadata service for provider and region (0.5 s timeout; "
        "off by default: wattwise makes no network call unless asked)",
    )


def context_flags(args: argparse.Namespace) -> dict[str, object]:
    """The context flags given on the command line (None for those not given), keyed by the
    flag the user typed (``supplier-factor``, ``price``), so a given value's source reads
    ``given by you (--supplier-factor)`` — as :meth:`wattwise.estimate.inputs.SiteInputs.given`.
    """
    from wattwise.accounting.context import SETTINGS

    return {s.flag.lstrip("-"): getattr(args, f"ctx_{s.field}", None) for s in SETTINGS}


def context_from_args(args: argparse.Namespace, stored: Mapping[str, Any] | None = None) -> Context:
    """Resolve the context: flags > env > config files > ``stored`` (a run's own context).

    Settings are decided per group (location, PUE, market, price, ...): a ``--country`` flag
    replaces a stored cloud region rather than mixing with it.
    """
    from wattwise.accounting.context import SETTINGS, default_config_paths, resolve_context

    flags = context_flags(args)
    if stored:
        group_of = {s.flag.lstrip("-"): s.group for s in SETTINGS}
        given_groups = {group_of[k] for k, v in flags.items() if v is not None}
        for s in SETTINGS:  # ``stored`` is keyed by field (``supplier_factor_g_per_kwh``)
            flag = s.flag.lstrip("-")
            if s.field in stored and s.group not in given_groups and flags.get(flag) is None:
                flags[flag] = stored[s.field]
        return resolve_context(flags, {}, ())
    ctx = resolve_context(flags, os.environ, default_config_paths(Path.cwd()))
    if getattr(args, "detect_cloud", False) and not ctx.has_location:
        ctx = _with_detected_cloud(ctx)
    return ctx


def _with_detected_cloud(ctx: Context) -> Context:
    """``ctx`` located by the instance metadata service, or unchanged with a warning."""
    import dataclasses
    import sys

    from wattwise.accounting.context import check_context
    from wattwise.accounting.detect import detect_cloud

    loc, reasons = detect_cloud()
    if loc is None:
        sys.stderr.write(
            "wattwise: --detect-cloud: no instance metadata service answered "
            f"({'; '.join(reasons)[:200]}); give --country or --cloud-region\n"
        )
        return ctx
    origins = {**ctx.origins, "cloud": loc.source, "cloud_region": loc.source}
    return check_context(
        dataclasses.replace(ctx, cloud=loc.cloud, cloud_region=loc.region, origins=origins)
    )


def offsets_line(offsets_kg: float) -> str:
    """Declared offsets on their own line: never subtracted from the emissions above."""
    return (
        f"  offsets: {format_mass_g(offsets_kg * 1000.0)} CO2e declared (reported on their own;"
        " not subtracted from the location- or market-based emissions)"
    )


def grid_year_note(fp: Footprint) -> str:
    """``", 2024 data"`` after a table intensity: the year of the grid factor used, or that its
    source states none; nothing for an intensity the user gave."""
    grid = next((a for a in fp.assumptions if a.name == "grid_intensity"), None)
    if grid is None or grid.provenance == "given":
        return ""
    return f", {fp.grid_year} data" if fp.grid_year is not None else ", year not stated by source"


def footprint_lines(fp: Footprint) -> list[str]:
    """A few human lines: facility energy, carbon, water, cost, embodied, assumptions."""
    from wattwise.accounting.money import format_money

    cost = format_money(fp.cost.value, fp.cost.currency) if fp.cost else format_money(None, None)
    lines = [
        f"  footprint in {fp.location}: facility energy "
        f"{format_energy(kwh_to_j(fp.facility_energy_kwh))}"
        f" (PUE {fp.pue:.3g}), {format_mass_g(fp.co2e_location_g)} CO2e location-based"
        f" ({fp.intensity_g_per_kwh:.0f} g/kWh{grid_year_note(fp)}),"
        f" {format_mass_g(fp.co2e_market_g)} market-based",
        f"  water {format_si(fp.water_l, 'L')}, cost {cost}, embodied "
        f"{format_mass_g(fp.embodied_co2e_g)} CO2e",
    ]
    for unit, g in fp.sci_g_per_unit.items():
        lines.append(f"  SCI: {format_mass_g(g)} CO2e per {unit}")
    if fp.offsets_kg is not None:
        lines.append(offsets_line(fp.offsets_kg))
    assumed = [a for a in fp.assumptions if a.provenance == "assumed"]
    for a in assumed:
        lines.append(f"  assumed: {a.name} = {a.value} {a.unit} ({a.source})")
    from wattwise.cli.render import printable

    return [printable(line) for line in lines]

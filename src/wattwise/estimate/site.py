"""Build an :class:`EstimateContext` from the accounting module's context resolver.

The estimator works on plain numbers (PUE, gCO2e/kWh, price per kWh). Where the user names a
place instead (``--country FR``, ``--cloud gcp --cloud-region us-central1``, ``--cooling``,
``--cfe``), :mod:`wattwise.accounting` knows the tables; this module asks it to account one kWh of
IT energy and reads the factors back, with their provenance and sources. It is imported lazily,
so the estimator itself does not depend on the accounting tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wattwise.core.provenance import Provenance
from wattwise.estimate.types import (
    DEFAULT_PRICE,
    DEFAULT_PUE,
    EstimateContext,
    Factor,
)

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting.context import Context


def context_from_accounting(ctx: Context) -> EstimateContext:
    """The site factors the accounting module resolves for ``ctx``, as an EstimateContext."""
    from wattwise.accounting.footprint import account

    fp = account(3.6e6, "estimated", 3600.0, ctx)  # 1 kWh of IT energy over one hour
    by_name = {a.name: a for a in fp.assumptions}

    def src(name: str, fallback: str) -> tuple[Provenance, str]:
        a = by_name.get(name)
        if a is None:
            return Provenance.ASSUMED, fallback
        origin = f"given by you ({a.source})" if a.provenance is Provenance.GIVEN else a.source
        return a.provenance, origin

    p_prov, p_src = src("pue", "accounting default")
    pue = (
        Factor(fp.pue, p_prov, p_src, low=DEFAULT_PUE.low, high=max(fp.pue, DEFAULT_PUE.high or 0))
        if p_prov is Provenance.ASSUMED
        else Factor(fp.pue, p_prov, p_src)
    )
    g_prov, g_src = src("grid_intensity", "accounting default")
    loc = Factor(fp.intensity_g_per_kwh, g_prov, g_src)
    market = None
    if fp.facility_energy_kwh > 0 and fp.co2e_market_g != fp.co2e_location_g:
        c_prov, c_src = src("cfe", "")
        market = Factor(
            fp.co2e_market_g / fp.facility_energy_kwh,
            c_prov,
            f"market-based after contractual instruments: {c_src}",
        )
    notes: list[str] = []
    if fp.cost is not None and fp.facility_energy_kwh > 0:
        pr_prov, pr_src = src("price", "")
        price = Factor(fp.cost.value / fp.facility_energy_kwh, pr_prov, pr_src)
        currency = fp.cost.currency
    else:
        price, currency = DEFAULT_PRICE, "USD"
        notes.append(f"no electricity price known for {fp.location}: {DEFAULT_PRICE.source}")
    out = EstimateContext(
        pue=pue,
        intensity_location_g_per_kwh=loc,
        intensity_market_g_per_kwh=market,
        price_per_kwh=price,
        currency=currency,
        label=fp.location,
        notes=tuple(notes),
    )
    out.validate()
    return out


def resolve_estimate_context(
    flags: Mapping[str, object],
    environ: Mapping[str, str] | None = None,
    config_paths: Sequence[Path | str] = (),
) -> EstimateContext:
    """Resolve site flags (``country``, ``region``, ``cloud``, ``cloud_region``, ``pue``,
    ``cooling``, ``cfe``, ``supplier_factor_g_per_kwh``, ``intensity_g_per_kwh``,
    ``price_per_kwh``, ``currency``, ``year``; None = not given) through the accounting module,
    with the environment and config files below them."""
    from wattwise.accounting.context import resolve_context

    given = {k: v for k, v in flags.items() if v is not None}
    return context_from_accounting(resolve_context(given, environ, config_paths))

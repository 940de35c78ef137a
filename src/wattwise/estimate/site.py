"""Build an :class:`EstimateContext` from the accounting module's context resolver.

The estimator works on plain numbers (PUE, gCO2e/kWh, price per kWh). Where the user names a
place instead (``--country FR``, ``--cloud gcp --cloud-region us-central1``, ``--cooling``,
``--cfe``), the one site resolver (:func:`wattwise.accounting.site.resolve_site`) turns the
context into factors, each a band with its provenance and source — the same factors a footprint
of a measured run uses; nothing is back-solved. Imported lazily, by the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wattwise.accounting.money import UNKNOWN_PRICE
from wattwise.core.provenance import Provenance
from wattwise.estimate.types import EstimateContext, Factor

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting.context import Context


def context_from_accounting(ctx: Context) -> EstimateContext:
    """The site factors the accounting module resolves for ``ctx``, as an EstimateContext.

    Each factor keeps the resolver's band, provenance and source (a value the user gave reads
    ``given by you (--price)``). With no price known for the place (none given, none shipped
    for it) the price and currency are None: every cost of the estimate is unknown ("unknown —
    give --price"), never another place's price.
    """
    from wattwise.accounting.site import resolve_site

    site = resolve_site(ctx)
    priced = site.price_per_kwh is not None and site.currency is not None
    notes: list[str] = []
    if not priced:
        notes.append(f"no electricity price known for {site.location}: {UNKNOWN_PRICE}")
    out = EstimateContext(
        pue=_said(site.pue),
        intensity_location_g_per_kwh=_said(site.intensity_location_g_per_kwh),
        intensity_market_g_per_kwh=_said(site.intensity_market_g_per_kwh),
        price_per_kwh=_said(site.price_per_kwh) if site.price_per_kwh and priced else None,
        currency=site.currency if priced else None,
        label=site.location,
        notes=tuple(notes),
    )
    out.validate()
    return out


def _said(f: Factor) -> Factor:
    """``f`` with a user-given value's source prefixed ``given by you``."""
    if f.provenance is not Provenance.GIVEN:
        return f
    return Factor(f.value, f.provenance, f"given by you ({f.source})", f.low, f.high)


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

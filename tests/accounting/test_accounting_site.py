"""The one site resolver: a context → PUE, intensities, WUE and price, each a band with
provenance; footprints and estimates take the same factors (nothing is back-solved)."""

from __future__ import annotations

import pytest

from wattwise.accounting import Context, account
from wattwise.accounting.site import resolve_site
from wattwise.core import Provenance
from wattwise.data.lookup import cloud_factor, industry_pue, pue_preset
from wattwise.estimate.site import context_from_accounting


def test_assumed_pue_band_reaches_down_to_hyperscale_fleets() -> None:
    site = resolve_site(Context())
    industry, free_air = industry_pue(), pue_preset("free-air")
    assert site.pue.provenance is Provenance.ASSUMED
    assert site.pue.band.value == industry.pue
    assert (site.pue.band.low, site.pue.band.high) == (free_air.pue, industry.pue_high)


def test_provider_pue_carries_the_tables_range() -> None:
    site = resolve_site(Context(cloud="gcp", cloud_region="europe-west1"))
    gcp = pue_preset("gcp")
    assert site.pue.provenance is Provenance.ESTIMATED
    assert (site.pue.value, site.pue.low, site.pue.high) == (gcp.pue, gcp.pue_low, gcp.pue_high)


def test_given_pue_is_exact_and_given() -> None:
    site = resolve_site(Context(pue=1.25, origins={"pue": "--pue"}))
    assert site.pue.provenance is Provenance.GIVEN and site.pue.source == "--pue"
    assert site.pue.band.low == site.pue.band.high == 1.25


def test_market_intensity_from_google_cfe_and_from_a_given_cfe() -> None:
    row = cloud_factor("gcp", "europe-west1")
    assert row.cfe_fraction is not None
    site = resolve_site(Context(cloud="gcp", cloud_region="europe-west1"))
    assert site.intensity_market_g_per_kwh.provenance is Provenance.ESTIMATED
    assert site.intensity_market_g_per_kwh.value == pytest.approx(
        row.intensity_g_per_kwh * (1 - row.cfe_fraction)
    )
    given = resolve_site(Context(country="DE", cfe=0.25))
    loc = given.intensity_location_g_per_kwh.value
    assert given.intensity_market_g_per_kwh.provenance is Provenance.GIVEN
    assert given.intensity_market_g_per_kwh.value == pytest.approx(loc * 0.75)
    none = resolve_site(Context(country="DE"))
    assert none.intensity_market_g_per_kwh.value == none.intensity_location_g_per_kwh.value
    assert none.intensity_market_g_per_kwh.provenance is Provenance.ASSUMED


def test_no_price_known_is_none_with_no_currency() -> None:
    site = resolve_site(Context())
    assert site.price_per_kwh is None and site.currency is None
    assert next(a for a in site.assumptions if a.name == "price").value == "unknown"
    priced = resolve_site(Context(country="FR"))
    assert priced.price_per_kwh is not None and priced.currency == "EUR"


@pytest.mark.parametrize(
    "ctx",
    [
        Context(),
        Context(country="FR"),
        Context(cloud="gcp", cloud_region="europe-west1"),
        Context(region="US-CA", cooling="immersion", supplier_factor_g_per_kwh=20.0),
        Context(country="DE", pue=1.3, cfe=0.4, price_per_kwh=0.3, currency="EUR"),
    ],
)
def test_footprint_and_estimator_use_the_resolvers_factors(ctx: Context) -> None:
    site = resolve_site(ctx)
    fp = account(3.6e6, "measured", 3600.0, ctx)  # 1 kWh
    assert fp.pue == site.pue.value
    assert fp.intensity_g_per_kwh == site.intensity_location_g_per_kwh.value
    assert fp.co2e_market_g == pytest.approx(fp.facility_energy_kwh
                                             * site.intensity_market_g_per_kwh.value)  # fmt: skip
    assert fp.location == site.location
    est = context_from_accounting(ctx)
    assert est.pue.band == site.pue.band and est.pue.provenance == site.pue.provenance
    assert est.intensity_location_g_per_kwh.band == site.intensity_location_g_per_kwh.band
    assert est.market.band == site.intensity_market_g_per_kwh.band
    if site.price_per_kwh is not None:
        assert est.price_per_kwh.value == site.price_per_kwh.value
        assert est.currency == site.currency


def test_grid_factor_year_default_latest_asked_kept_and_stated() -> None:
    from wattwise.accounting.site import resolve_grid

    kwh = 3.6e6
    latest = account(kwh, "measured", 3600.0, Context(country="FR", pue=1.0))
    asked = account(kwh, "measured", 3600.0, Context(country="FR", pue=1.0, year=2023))
    assert latest.grid_year == 2024 and latest.to_dict()["grid_year"] == 2024
    assert asked.grid_year == 2023 and asked.co2e_location_g == pytest.approx(56.039)
    assert latest.co2e_location_g == pytest.approx(44.179)  # OWID/Ember France 2024
    _, _, used = resolve_grid(Context(country="FR", year=2025))
    assert "grid_country.csv (2024;" in used.source
    assert "[year 2025 requested; 2024 is the table's year]" in used.source
    given = account(kwh, "measured", 3600.0, Context(intensity_g_per_kwh=100.0))
    assert given.grid_year is None

"""Money: a cloud region takes its country's price, every figure carries its currency, and no
price reads "unknown — give --price" everywhere alike (issue 11, B3)."""

from __future__ import annotations

import pytest

from wattwise.accounting import account
from wattwise.accounting.context import resolve_context
from wattwise.accounting.money import UNKNOWN_PRICE, format_money, format_price
from wattwise.accounting.site import resolve_site
from wattwise.data.lookup import price_for

KWH = 3.6e6


def _site(**flags: object):  # type: ignore[no-untyped-def]
    return resolve_site(resolve_context(flags, {}, []))


def test_belgian_cloud_region_takes_the_eu_average_in_eur_not_the_us_price() -> None:
    site = _site(cloud="gcp", cloud_region="europe-west1")
    eu = price_for("EU")
    assert eu is not None and site.price_per_kwh is not None
    assert site.currency == "EUR"
    assert site.price_per_kwh.value == pytest.approx(eu.price_per_kwh)
    src = site.price_per_kwh.source
    assert "gcp:europe-west1 is in BE" in src and "Belgium" in src and "EU average" in src
    assert "US" not in src.split(":", 1)[0] and "EIA" not in src


def test_cloud_region_in_a_country_with_a_figure_takes_that_figure() -> None:
    ie = price_for("IE")
    site = _site(cloud="aws", cloud_region="eu-west-1")  # Ireland
    assert ie is not None and site.price_per_kwh is not None
    assert (site.price_per_kwh.value, site.currency) == (ie.price_per_kwh, ie.currency)
    assert site.price_per_kwh.provenance == "estimated"
    us = _site(cloud="aws", cloud_region="us-east-1")
    assert us.currency == "USD" and us.price_per_kwh is not None
    assert "aws:us-east-1 is in US" in us.price_per_kwh.source


def test_cloud_region_without_a_shipped_price_is_unknown_not_another_countrys() -> None:
    site = _site(cloud="aws", cloud_region="ap-northeast-1")  # Japan: no figure shipped
    assert site.price_per_kwh is None and site.currency is None
    note = next(a for a in site.assumptions if a.name == "price")
    assert note.value == "unknown" and UNKNOWN_PRICE in note.source and "JP" in note.source
    fp = account(KWH, "measured", 3600.0, resolve_context({"cloud": "aws",
                 "cloud_region": "ap-northeast-1"}, {}, []))  # fmt: skip
    assert fp.cost is None and fp.to_dict()["cost"] is None


def test_money_always_carries_its_currency_and_unknown_reads_give_price() -> None:
    assert format_money(1234.5, "EUR") == "1,234.50 EUR"
    assert format_money(0.00114, "USD") == "0.00114 USD"
    assert format_money(None, "EUR") == UNKNOWN_PRICE == "unknown — give --price"
    assert format_money(2.0, None) == UNKNOWN_PRICE  # a number without a currency is no cost
    assert format_money(2.0, "") == UNKNOWN_PRICE
    assert format_money(float("nan"), "EUR") == UNKNOWN_PRICE
    assert format_price(0.1902, "EUR") == "0.19 EUR/kWh"
    assert "e-" not in format_money(1.5e-7, "EUR")


def test_footprint_lines_show_cost_with_currency_or_unknown_give_price() -> None:
    from wattwise.cli.footprint import footprint_lines

    priced = account(KWH, "measured", 3600.0,
                     resolve_context({"cloud": "gcp", "cloud_region": "europe-west1"}, {}, []))
    line = next(x for x in footprint_lines(priced) if "cost" in x)
    assert priced.cost is not None
    assert f"cost {format_money(priced.cost.value, 'EUR')}" in line
    unpriced = account(KWH, "measured", 3600.0, resolve_context({}, {}, []))
    line = next(x for x in footprint_lines(unpriced) if "cost" in x)
    assert f"cost {UNKNOWN_PRICE}" in line  # fmt: skip


def test_estimate_daily_and_yearly_cost_lines_carry_the_currency() -> None:
    from wattwise.cli.estimate import render
    from wattwise.estimate import estimate_inference
    from wattwise.estimate.site import context_from_accounting

    ctx = context_from_accounting(
        resolve_context({"cloud": "gcp", "cloud_region": "europe-west1"}, {}, [])
    )
    est = estimate_inference(hardware="H100", params=8e9, input_tokens=100, output_tokens=100,
                             requests_per_day=1e4, context=ctx)  # fmt: skip
    text = render(est.to_dict())
    cost_lines = [x for x in text.splitlines() if "cost" in x and ("daily" in x or "yearly" in x)]
    assert len(cost_lines) == 2
    assert all(" EUR" in x for x in cost_lines), text


def test_footprint_lines_use_si_prefixes_not_e_notation() -> None:
    from wattwise.cli.footprint import footprint_lines

    fp = account(50.0, "measured", 3.0,
                 resolve_context({"cloud": "gcp", "cloud_region": "europe-west1"}, {}, []),
                 functional_units={"step": 8.0})  # fmt: skip
    text = "\n".join(footprint_lines(fp))
    assert "e-0" not in text and "e+" not in text, text
    assert "SCI: " in text and "CO2e per step" in text


def test_cloud_region_keeps_its_countrys_price_when_the_intensity_is_given() -> None:
    site = _site(cloud="gcp", cloud_region="europe-west1", intensity_g_per_kwh=50.0)
    assert site.intensity_location_g_per_kwh.value == 50.0
    assert site.currency == "EUR" and site.price_per_kwh is not None
    assert "is in BE" in site.price_per_kwh.source

"""The regions section: each place listed once, and every price labelled by what it is."""

from __future__ import annotations

from typing import Any

from report.synthetic import synthetic_doc, synthetic_run
from wattwise.accounting import Context
from wattwise.accounting.compare import compare_regions
from wattwise.audit import analysis as an
from wattwise.cli.footprint import footprint_of
from wattwise.report.measured import headline_section, regions_section
from wattwise.tracker.model import RunResult


def _regions(ctx: Context) -> dict:  # type: ignore[type-arg]
    run = synthetic_run()
    fp = footprint_of(run, ctx)
    return an.regions(run.energy.total_j, run.duration_s, ctx, run.energy.label, fp)


def test_regions_chart_lists_the_runs_own_country_once() -> None:
    reg = _regions(Context(country="DE"))
    names = [r["name"] for r in reg["chart"]]
    assert names.count("country DE (Germany)") == 1  # was twice: "here" and the DE reference
    assert next(r for r in reg["chart"] if r["name"] == "country DE (Germany)")["current"]
    html = regions_section({"regions": reg})
    assert html.count("<td>country DE (Germany)</td>") == 1  # the table row
    row = html.split("<td>country DE (Germany)</td>")[1].split("</tr>")[0]
    assert "<td class=n>2024</td>" in row  # the grid factor's data year (OWID/Ember 2024)
    del reg["current"]["year"]  # an audit stored before the year was recorded still renders
    assert "<td>country DE (Germany)</td>" in regions_section({"regions": reg})


def test_eu_average_prices_are_labelled_eu_average_not_a_national_tariff() -> None:
    rows = compare_regions(3.6e6, 60.0, Context(), ["SE", "FR", "DE", "PL"])
    assert {r.price_basis for r in rows} == {"EU average"}
    given = compare_regions(3.6e6, 60.0, Context(price_per_kwh=0.3, currency="EUR"), ["DE"])
    assert given[0].price_basis == "your price"
    reg = _regions(Context(country="DE"))
    html = regions_section({"regions": reg})
    assert "EUR (EU average)" in html and "Every price here is the EU average" in html


def test_headline_cost_card_says_the_price_is_the_eu_average() -> None:
    run = synthetic_run()
    doc = synthetic_doc(run, Context(country="DE"))
    card = headline_section(doc, run).split('data-metric="cost"')[1].split("</div></div>")[0]
    assert "EU average price" in card



def _carbon_card(doc: dict[str, Any], run: RunResult) -> str:
    html = headline_section(doc, run)
    return html.split('data-metric="co2e_location_g"')[1].split("</div></div>")[0]


def test_headline_carbon_card_shows_the_grid_factors_year() -> None:
    run = synthetic_run()
    doc = synthetic_doc(run, Context(country="DE"))
    assert "g/kWh (2024 data)" in _carbon_card(doc, run)  # OWID/Ember Germany 2024, the latest
    del doc["footprint"]["grid_year"]  # a footprint stored before the year was recorded
    assert "g/kWh" in _carbon_card(doc, run) and "data)" not in _carbon_card(doc, run)

"""The shipped reference tables: units, plausible ranges and every pitfall of reference-data."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from wattwise.data import lookup, tables
from wattwise.data.catalog import data_catalog, search_data, show_table, table_info
from wattwise.errors import DataError, UnknownKeyError

REF = Path("/work/shared/reference-data")
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason="public reference-data not present")
DATA_DIR = Path(tables.__file__).parent


def test_every_grid_value_is_plausible_and_sourced() -> None:
    rows = (tables.country_factors() + tables.subnational_factors() + tables.cloud_factors()) + (
        tables.world_average(),
    )
    assert len(rows) > 300
    for f in rows:
        assert 0 <= f.intensity_g_per_kwh <= 1200, f
        assert f.source and f.basis and f.table
        assert f.year is None or 1990 <= f.year <= 2100


def test_implausible_intensity_row_is_rejected() -> None:
    # The known-bad row of CodeCarbon's EU series: United Kingdom 2020 = 20,953 gCO2/kWh.
    text = "iso2,iso3,name,year,intensity_g_per_kwh,basis,source\n"
    text += "GB,GBR,United Kingdom,2020,20953,x,y\n"
    with pytest.raises(DataError, match=r"grid_country.csv line 2: .*20953"):
        tables.parse_grid_table("grid_country.csv", text)
    good = text.replace("20953", "209")
    assert tables.parse_grid_table("grid_country.csv", good)[0].intensity_g_per_kwh == 209


def test_no_wrong_uk_row_shipped() -> None:
    gb = lookup.country_factor("GB")
    assert gb.intensity_g_per_kwh < 600
    assert all(f.intensity_g_per_kwh < 1200 for f in tables.country_factors())


@needs_ref
def test_us_states_converted_from_lb_per_mwh_by_multiplying() -> None:
    raw = json.loads((REF / "codecarbon" / "usa_emissions.json").read_text())
    lb_per_mwh = raw["iowa"]["emissions"]
    iowa = lookup.region_factor("US-IA").intensity_g_per_kwh
    assert iowa == pytest.approx(lb_per_mwh * 0.45359237, rel=1e-4)
    # The peer bug divided instead: ~4.9x too high.
    assert lb_per_mwh / 0.45359237 / iowa == pytest.approx(1 / 0.45359237**2, rel=1e-3)


def test_lb_per_mwh_constant() -> None:
    # 1 lb = 453.59237 g, 1 MWh = 1000 kWh.
    assert pytest.approx(453.59237 / 1000) == tables.LB_PER_MWH_TO_G_PER_KWH
    assert tables.TONNES_PER_KWH_TO_G_PER_KWH == 1e6


@needs_ref
def test_cloud_factors_converted_from_tonnes() -> None:
    src = REF / "cloud-carbon-footprint" / "grid-emissions-factors-aws.csv"
    with src.open() as f:
        row = next(r for r in csv.DictReader(f) if r["Region"] == "us-east-1")
    t_per_kwh = float(row["CO2e (metric ton/kWh)"])
    assert lookup.cloud_factor("aws", "us-east-1").intensity_g_per_kwh == pytest.approx(
        t_per_kwh * 1e6
    )


def test_malformed_azure_rows_not_shipped() -> None:
    # Source has "000077" / "000402" t/kWh (a lost "0."): rejected, not guessed.
    with pytest.raises(UnknownKeyError):
        lookup.cloud_factor("azure", "germanywestcentral")
    assert lookup.cloud_factor("azure", "West Europe").intensity_g_per_kwh == pytest.approx(390)


def test_quebec_uses_lifecycle_factors_not_fossil_only() -> None:
    qc = lookup.region_factor("CA-QC")
    # Fossil-only counting gave ~4 g/kWh; hydro's lifecycle 24 g/kWh dominates a 92 % hydro mix.
    assert 20 < qc.intensity_g_per_kwh < 40
    assert "lifecycle" in qc.basis
    # Hand computation from the 2023 mix (hydro 92.1, wind 6.7, gas 0.2, oil 0.3, biomass 0.7,
    # solar 0.01; total 100.01 %) with IPCC AR5 factors.
    hand = (92.1 * 24 + 6.7 * 11 + 0.2 * 490 + 0.3 * 650 + 0.7 * 230 + 0.01 * 41) / 100.01
    assert qc.intensity_g_per_kwh == pytest.approx(hand, abs=1e-3)


def test_google_cfe_is_a_fraction_and_basis_changes_in_2021() -> None:
    gcp = [f for f in tables.cloud_factors() if f.key.startswith("gcp:") and f.year]
    assert {f.year for f in gcp} == set(range(2019, 2026))
    cfes = [f.cfe_fraction for f in gcp if f.cfe_fraction is not None]
    assert cfes and all(0 <= c <= 1 for c in cfes)
    assert max(cfes) > 0.9  # would be ~90-100 if percentages had slipped in
    assert {f.basis for f in gcp if f.year in (2019, 2020)} == {"lifecycle"}
    assert {f.basis for f in gcp if f.year and f.year >= 2021} == {"location-based"}
    e2019 = lookup.cloud_factor("gcp", "europe-west1", 2019)
    e2024 = lookup.cloud_factor("gcp", "europe-west1", 2024)
    latest = lookup.cloud_factor("gcp", "europe-west1")
    assert (e2019.year, e2019.basis) == (2019, "lifecycle")
    assert (e2024.year, e2024.intensity_g_per_kwh) == (2024, 103.37)  # by-year keeps 2024
    # the latest published year is the default: Google's 2025 file (reference/, 74d9bf8)
    assert (latest.year, latest.basis, latest.intensity_g_per_kwh) == (
        2025, "location-based", 126.43)  # fmt: skip


def test_azure_pue_choice_is_stated() -> None:
    azure = lookup.pue_preset("azure")
    assert azure.pue == 1.185
    assert "1.125" in azure.note and "1.185" in azure.note
    assert lookup.pue_preset("aws").pue == 1.135
    assert lookup.pue_preset("gcp").pue == 1.1


def test_pue_presets_have_ranges() -> None:
    for p in tables.pue_presets():
        assert 1.0 <= p.pue_low <= p.pue <= p.pue_high <= 3.0
    for cooling in ("air", "free-air", "direct-liquid", "immersion"):
        assert lookup.cooling_preset(cooling).kind == "cooling"
    assert lookup.cooling_preset("immersion").pue < lookup.cooling_preset("air").pue
    assert lookup.industry_pue(2023).pue == 1.58
    assert lookup.industry_pue().year == 2024


def test_embodied_boundaries_span_published_range() -> None:
    die = lookup.embodied_for("gpu", "NVIDIA H100 80GB HBM3", "die")
    card = lookup.embodied_for("gpu", "NVIDIA H100 80GB HBM3", "card")
    share = lookup.embodied_for("gpu", "NVIDIA H100 80GB HBM3", "server_share")
    assert die is not None and card is not None and share is not None
    assert 10 <= die.embodied_kg <= 25  # die only (ACT / LLMCarbon)
    assert card.embodied_kg == 150
    assert share.embodied_kg > 400  # several hundred kg with the server share
    assert die.name == "H100" and card.name == "*"


def test_prices_units_and_bom_header() -> None:
    ca = lookup.price_for("US-CA")
    assert ca is not None and ca.currency == "USD" and ca.sector == "commercial"
    assert ca.price_per_kwh == pytest.approx(0.1753)  # 17.53 cents/kWh in EIA 2020
    assert lookup.price_for("US", "industrial") is not None
    ie = lookup.price_for("IE")
    assert ie is not None and ie.currency == "EUR" and "VAT" in ie.tax_basis
    assert lookup.price_for("FI") is not None and lookup.price_for("FI").period == "2024-S1"  # type: ignore[union-attr]
    assert lookup.price_for("JP") is None  # not sourced: left out, never invented
    for p in tables.prices():
        assert 0 < p.price_per_kwh < 1 and p.source


@needs_ref
def test_us_price_table_reads_bom_header_and_skips_na() -> None:
    raw = (REF / "prices-us-eia" / "avgprice_annual_1990-2020.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    keys = {p.key for p in tables.prices() if p.table == "prices_us_eia.csv"}
    assert "US" in keys and "US-TX" in keys and len(keys) == 52  # 50 states, DC, US


def test_wholesale_prices_are_reference_only_and_in_eur_per_kwh() -> None:
    rows = tables.wholesale_prices()
    assert {r.year for r in rows} == {2015, 2018}
    fr = next(r for r in rows if r.zone == "France" and r.year == 2018)
    assert 0.02 < fr.mean_price_per_kwh < 0.1 and fr.currency == "EUR"


def test_wue_figures_are_sourced() -> None:
    assert lookup.wue_figure("aws").wue_l_per_kwh == 0.18  # type: ignore[union-attr]
    assert lookup.wue_figure("google") is None  # no published WUE: omitted
    for w in tables.wue_figures():
        assert w.source and w.verification


def test_country_codes_alpha2_alpha3_and_name() -> None:
    fr = lookup.country_factor("FR")
    assert lookup.country_factor("fra") == fr == lookup.country_factor("France")
    assert lookup.country_factor("UK").key == "GB"
    with pytest.raises(UnknownKeyError, match="France"):
        lookup.country_factor("Frnace")


def test_unknown_region_lists_close_matches() -> None:
    with pytest.raises(UnknownKeyError, match=r"us-east-1"):
        lookup.cloud_factor("aws", "us-east-7")
    with pytest.raises(UnknownKeyError, match=r"US-CA"):
        lookup.region_factor("US-CAA")
    with pytest.raises(UnknownKeyError, match=r"2024"):
        lookup.cloud_factor("gcp", "europe-west1", 2015)


def test_catalog_lists_every_shipped_file_with_source() -> None:
    names = {t.name for t in data_catalog()}
    shipped = {p.name for p in DATA_DIR.iterdir() if p.suffix in (".csv", ".gz")}
    assert shipped <= names
    sources_md = (DATA_DIR / "SOURCES.md").read_text()
    for t in data_catalog():
        assert t.source and t.licence and t.year
        assert t.name in sources_md
    assert table_info("grid_country").name == "grid_country.csv"
    assert show_table("pue")[0]["key"] == "aws"


def test_search_finds_rows() -> None:
    hits = search_data("quebec")
    assert any(h.row.get("key") == "CA-QC" for h in hits)
    assert search_data("") == []
    assert all(h.table != "hourly_gb_neso.csv.gz" for h in search_data("2020"))


@needs_ref
def test_shipped_tables_equal_a_fresh_build(tmp_path: Path) -> None:
    from wattwise.data import _build

    (tmp_path / "countries.csv").write_bytes((DATA_DIR / "countries.csv").read_bytes())
    rejected = _build.build(REF, tmp_path)
    # Turkmenistan ~1,306 g/kWh in CodeCarbon's copy (2022) and OWID's grapher (2023)
    assert rejected["grid_country.csv"] == ["TKM=1306.025", "TKM@2023=1306.3036"]
    assert len(rejected["grid_cloud.csv"]) == 3  # 2 malformed Azure rows, GCP 2025 'N/A'
    assert "gcp:europe-west5@2025: location N/A" in rejected["grid_cloud.csv"]
    for name in (
        "grid_country.csv",
        "grid_subnational.csv",
        "grid_cloud.csv",
        "prices_us_eia.csv",
        "prices_eu_wholesale.csv",
    ):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_loader_reports_table_and_line() -> None:
    bad = "provider,region,location,country_iso2,year,intensity_g_per_kwh,cfe_fraction,basis,"
    bad += "source\ngcp,x,y,BE,2024,100,75,location-based,s\n"  # CFE as a percentage
    with pytest.raises(DataError, match=r"grid_cloud.csv line 2: cfe_fraction"):
        tables.parse_grid_table("grid_cloud.csv", bad)
    assert math.isclose(tables.world_average(2023).intensity_g_per_kwh, 481)


def test_every_cloud_region_has_its_country_from_its_location() -> None:
    from wattwise.data._build import CLOUD_LOCATION_COUNTRY
    from wattwise.data.lookup import cloud_factor, latest_cloud_factors, resolve_country

    rows = latest_cloud_factors()
    assert rows and all(f.country_iso2 for f in rows)
    for f in rows:
        assert resolve_country(f.country_iso2).iso2 == f.country_iso2  # a real ISO code
        assert CLOUD_LOCATION_COUNTRY[f.name.lower()] == f.country_iso2  # from the build's map
    assert cloud_factor("gcp", "europe-west1").country_iso2 == "BE"  # Belgium
    assert cloud_factor("azure", "westeurope").country_iso2 == "NL"  # Netherlands
    assert cloud_factor("aws", "us-east-1").country_iso2 == "US"
    assert cloud_factor("gcp", "europe-north1").country_iso2 == "FI"


def test_cloud_row_without_a_country_is_refused() -> None:
    from wattwise.data.tables import parse_grid_table

    bad = "provider,region,location,country_iso2,year,intensity_g_per_kwh,cfe_fraction,basis,"
    bad += "source\ngcp,x,Nowhere,,2024,100,,location-based,s\n"
    with pytest.raises(DataError, match="country_iso2"):
        parse_grid_table("grid_cloud.csv", bad)


def test_cloud_location_without_a_known_country_stops_the_build() -> None:
    from wattwise.data import _build

    with pytest.raises(ValueError, match="CLOUD_LOCATION_COUNTRY"):
        _build._location_country("gcp", "moon-1", "Tranquility Base")

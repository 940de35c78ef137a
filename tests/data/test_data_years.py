"""Grid factors by data year: the latest published year is the default, an asked year is kept.

Figures are the sources' own (``SOURCES.md``): OWID's grapher (Ember / Energy Institute, mid-2025
download) for 2024, CodeCarbon's older OWID copy for 2022-2023, Cloud Carbon Footprint's
methodology page for the years of its AWS/Azure factors.
"""

from __future__ import annotations

import pytest

from wattwise.data import _build, lookup, tables
from wattwise.data._build_sources import (
    CCF_SOURCE_YEARS,
    OWID_COUNTRY_FILE,
    ccf_source_year,
    owid_country_years,
)
from wattwise.errors import DataError, UnknownKeyError


def test_country_default_is_the_latest_year_and_an_asked_year_is_kept() -> None:
    latest = lookup.country_factor("FR")
    assert (latest.year, latest.intensity_g_per_kwh) == (2024, 44.179)  # OWID grapher 44.179085
    assert "carbon-intensity-electricity" in latest.source and latest.basis == "lifecycle"
    kept = lookup.country_factor("France", 2023)
    assert (kept.year, kept.intensity_g_per_kwh) == (2023, 56.039)  # CodeCarbon's copy, kept
    assert "codecarbon" in kept.source
    assert lookup.country_factor("FR", 2025).year == 2024  # not published: the year before
    assert lookup.country_factor("FR", 2010).year == 2023  # before the table: its earliest
    # a country whose newest published year is 2023 gains that year beside its 2022 row
    assert lookup.country_factor("AF").year == 2023
    assert lookup.country_factor("AFG", 2022).intensity_g_per_kwh == 132.53


def test_one_row_per_country_and_year_and_one_place_per_country() -> None:
    from wattwise.accounting.compare import default_keys

    rows = tables.country_factors()
    assert len({(f.key, f.year) for f in rows}) == len(rows)
    latest = lookup.latest_country_factors()
    assert len(latest) == len({f.key for f in rows})
    assert sum(f.year == 2024 for f in latest) >= 80  # OWID's mid-2025 file: 86 countries
    keys = default_keys(("country",))
    assert len(keys) == len(set(keys))  # compare-regions lists each country once


def test_newer_country_rows_equal_the_owid_copy() -> None:
    owid = owid_country_years(_build.REPO_REFERENCE / OWID_COUNTRY_FILE)
    assert owid["FRA"][2024][1] == pytest.approx(44.179085)
    newer = [f for f in tables.country_factors() if "grapher" in f.source]
    assert len(newer) > 150
    for f in newer:
        iso3 = lookup.resolve_country(f.key).iso3
        assert f.year is not None and f.intensity_g_per_kwh == pytest.approx(
            owid[iso3][f.year][1], abs=5e-4
        ), f


def test_world_average_by_year_and_one_row_per_year_enforced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    latest, kept = tables.world_average(), tables.world_average(2023)
    assert (latest.year, latest.intensity_g_per_kwh) == (2024, 473.007)  # OWID_WRL 473.0065
    assert (kept.year, kept.intensity_g_per_kwh) == (2023, 481)  # ACT's copy, kept
    assert tables.world_average(2030).year == 2024 and tables.world_average(2000).year == 2023
    shipped = tables._open_text("grid_world.csv")
    doubled = shipped + shipped.splitlines()[1] + "\n"  # the 2023 row twice
    monkeypatch.setattr(tables, "_open_text", lambda name: doubled)
    tables.world_averages.cache_clear()
    try:
        with pytest.raises(DataError, match="one row per data year"):
            tables.world_averages()
    finally:
        monkeypatch.undo()
        tables.world_averages.cache_clear()


def test_ccf_rows_carry_the_year_ccf_states() -> None:
    east = lookup.cloud_factor("aws", "us-east-1")
    assert east.year == 2019 and "eGRID2019" in east.source
    assert lookup.cloud_factor("aws", "af-south-1").year == 2020  # carbonfootprint.com, 2020
    assert lookup.cloud_factor("azure", "eastus").year == 2019
    paris = lookup.cloud_factor("aws", "eu-west-3")
    assert paris.year is None and "not stated by CCF" in paris.source  # EEA, no year given
    undated = [
        f for f in tables.cloud_factors() if f.key.startswith(("aws:", "azure:")) and not f.year
    ]
    assert undated and all("not stated by CCF" in f.source for f in undated)
    # one row per AWS region: an asked year keeps it (the caller states the row's year) ...
    assert lookup.cloud_factor("aws", "us-east-1", 2024) == east
    # ... while Google's yearly series refuses a year it does not publish
    with pytest.raises(UnknownKeyError, match="2025"):
        lookup.cloud_factor("gcp", "europe-west1", 2018)


def test_a_ccf_source_without_a_stated_year_entry_stops_the_build() -> None:
    assert ccf_source_year(" EPA ") == CCF_SOURCE_YEARS["EPA"]
    with pytest.raises(ValueError, match="CCF_SOURCE_YEARS"):
        ccf_source_year("IEA")

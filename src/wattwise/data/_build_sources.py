"""Maintainer tool (part of :mod:`wattwise.data._build`): source years of the generated tables.

Two parts: the data year of each Cloud Carbon Footprint (CCF) factor, and newer country years
from Our World in Data's grapher.

CCF's ``grid-emissions-factors-{aws,azure}.csv`` (ccf-coefficients @ b0032d9, added there in
ae12c38 on 2021-10-29) name only a source per row (``EPA``, ``EEA``, ``carbonfootprint.com``,
``EMA Singapore``). CCF's methodology page of the same date
(cloud-carbon-footprint/cloud-carbon-footprint @ f40c618, ``microsite/docs/Methodology.md``,
Appendix IV) lists the same figures and says which edition each comes from: US rows "EPA's
eGRID2019 Data" (NERC-region annual output rates; eGRID2019 is the 2019 data year), the
carbonfootprint.com rows its report ``2020_07_emissions_factors_sources_for_2020_electricity_
v1_3.pdf`` (factors for 2020 electricity), the European rows the EEA indicator
``co2-emission-intensity-6`` and Singapore the Energy Market Authority's grid emission factor --
for these last two the page names no year, so the year stays empty.

OWID:

``reference/grid-country-owid/carbon-intensity-electricity.csv`` is Our World in Data's grapher
download "Carbon intensity of electricity generation" (Ember and Energy Institute, CC BY 4.0),
columns ``Entity, Code, Year, Carbon intensity of electricity - gCO2/kWh`` (gCO2e/kWh,
lifecycle), a mid-2025 download (added to pluginsGLPI/carbon on 2025-07-30, unchanged on its
main branch @ b44f937, 2025-09-18): France 2024 = 44.18.

The country table keeps CodeCarbon's rows (one per country, 2022-2023, an older OWID vintage)
and gains, per country, every year of this file that is **newer** than that row, so the latest
published year is the default and by-year accounting keeps each older year's figure. A country
the older table lacks gets only its latest year. OWID aggregates (``OWID_*`` codes, blank codes)
are skipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

from wattwise.data.tables import GRID_INTENSITY_MAX_G_PER_KWH, GRID_INTENSITY_MIN_G_PER_KWH

#: The older country rows (CodeCarbon's copy of OWID's energy data, one year per country).
OWID_SOURCE = (
    "Our World in Data / Ember / Energy Institute (CC BY 4.0) via mlco2/codecarbon "
    "global_energy_mix.json @ b05965e"
)


def plausible_intensity(value: float) -> bool:
    """Inside the loaders' plausible grid-intensity range (gCO2e/kWh)."""
    return GRID_INTENSITY_MIN_G_PER_KWH <= value <= GRID_INTENSITY_MAX_G_PER_KWH


def fmt(x: float, digits: int = 3) -> str:
    """A table cell: ``x`` rounded to ``digits`` decimals, shortest form."""
    return f"{round(x, digits):g}" if abs(x) < 1e6 else f"{x:.{digits}f}"


#: Where the OWID grapher copy lives, relative to the repository's ``reference/`` folder.
#: CCF's ``Source`` cell -> (data year or None, what CCF's methodology page says it is).
CCF_SOURCE_YEARS: dict[str, tuple[int | None, str]] = {
    "EPA": (2019, "EPA eGRID2019 NERC-region output rate"),
    "carbonfootprint.com": (
        2020,
        "carbonfootprint.com factors for 2020 electricity (report 2020_07 v1.3)",
    ),
    "EEA": (None, "EEA co2-emission-intensity-6 (data year not stated by CCF)"),
    "EMA Singapore": (None, "EMA Singapore grid emission factor (year not stated by CCF)"),
}
CCF_METHODOLOGY = "years per CCF Methodology.md @ f40c618"


def ccf_source_year(source: str) -> tuple[int | None, str]:
    """(data year or None, description) of a CCF AWS/Azure row's ``Source`` cell."""
    key = source.strip()
    if key not in CCF_SOURCE_YEARS:
        raise ValueError(f"CCF source {key!r} has no entry in CCF_SOURCE_YEARS: add it")
    return CCF_SOURCE_YEARS[key]


OWID_COUNTRY_FILE = Path("grid-country-owid") / "carbon-intensity-electricity.csv"
OWID_VALUE_COLUMN = "Carbon intensity of electricity - gCO2/kWh"
OWID_GRAPHER_SOURCE = (
    "Our World in Data grapher carbon-intensity-electricity (Ember; Energy Institute; CC BY 4.0)"
    " as downloaded in pluginsGLPI/carbon @ b44f937"
    " install/data/carbon_intensity/carbon-intensity-electricity.csv"
)


def owid_country_years(path: Path) -> dict[str, dict[int, tuple[str, float]]]:
    """ISO alpha-3 -> year -> (entity name, gCO2e/kWh) from the grapher CSV (aggregates skipped)."""
    out: dict[str, dict[int, tuple[str, float]]] = {}
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code = r["Code"].strip()
            if len(code) != 3 or not code.isalpha():  # "", OWID_WRL, OWID_KOS, ...
                continue
            out.setdefault(code, {})[int(r["Year"])] = (r["Entity"], float(r[OWID_VALUE_COLUMN]))
    return out


def newer_country_rows(
    path: Path, have_year: Mapping[str, int], iso3_to_iso2: Mapping[str, str]
) -> tuple[list[list[object]], list[str]]:
    """Rows (the country table's columns) for the years newer than ``have_year[iso3]``.

    Returns (rows, rejected) where rejected lists ``ISO3@year=value`` outside the plausible range
    (Turkmenistan: ~1,306 g/kWh every year, as in CodeCarbon's copy).
    """
    rows: list[list[object]] = []
    rejected: list[str] = []
    for iso3, years in sorted(owid_country_years(path).items()):
        known = have_year.get(iso3)
        wanted = [y for y in sorted(years) if known is None or y > known]
        if known is None:
            wanted = wanted[-1:]
        for year in wanted:
            name, value = years[year]
            if not plausible_intensity(value):
                rejected.append(f"{iso3}@{year}={value}")
                continue
            row: list[object] = [iso3_to_iso2.get(iso3, ""), iso3, name, year, fmt(value)]
            rows.append([*row, "lifecycle", OWID_GRAPHER_SOURCE])
    return rows, rejected


def country_rows(
    ref: Path, repo_reference: Path, countries_csv: Path
) -> tuple[list[list[object]], list[str]]:
    """The country table: CodeCarbon's rows (``ref``/codecarbon) plus OWID's newer years
    (``repo_reference``/grid-country-owid), sorted by alpha-3 and year; and the rows rejected."""
    iso3_to_iso2: dict[str, str] = {}
    with countries_csv.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            iso3_to_iso2[r["iso3"]] = r["iso2"]
    mix = json.loads((ref / "codecarbon" / "global_energy_mix.json").read_text(encoding="utf-8"))
    rows: list[list[object]] = []
    rejected: list[str] = []
    for iso3 in sorted(mix):
        entry = mix[iso3]
        value = float(entry["carbon_intensity"])
        if not plausible_intensity(value):
            rejected.append(f"{iso3}={value}")
            continue
        row: list[object] = [iso3_to_iso2.get(iso3, ""), iso3, entry["country_name"]]
        rows.append([*row, int(entry["year"]), fmt(value), "lifecycle", OWID_SOURCE])
    have = {iso3: int(entry["year"]) for iso3, entry in mix.items()}
    newer, rejected_newer = newer_country_rows(
        repo_reference / OWID_COUNTRY_FILE, have, iso3_to_iso2
    )
    rows = sorted(rows + newer, key=lambda r: (str(r[1]), int(str(r[3]))))
    return rows, rejected + rejected_newer

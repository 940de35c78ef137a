"""Maintainer tool: rebuild the generated reference tables from the public sources.

Not imported by wattwise at run time. Run it from the repository root when a source changes::

    PYTHONPATH=src python -m wattwise.data._build /path/to/reference-data [out_dir]

``reference-data`` is the folder of public tables described in its own ``SOURCES.md`` (copies
of mlco2/codecarbon, cloud-carbon-footprint, GoogleCloudPlatform/region-carbon-info,
facebookresearch/ACT, US EIA, NESO, ...). Every transformation applied here is listed in
``data/SOURCES.md``; the tests rebuild the tables when the sources are present and check that the
shipped files are identical.

Hand-curated tables (PUE, WUE, embodied carbon, Eurostat prices) are not generated: they are
edited directly, each row with its source string.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from wattwise.data._build_sources import CCF_METHODOLOGY, ccf_source_year, country_rows
from wattwise.data._build_sources import fmt as _fmt
from wattwise.data._build_sources import plausible_intensity as _plausible_intensity
from wattwise.data.tables import (
    LB_PER_MWH_TO_G_PER_KWH,
    TONNES_PER_KWH_TO_G_PER_KWH,
)

#: Lifecycle emission factors per fuel, gCO2e/kWh: IPCC AR5 (2014) Annex III medians as carried by
#: facebookresearch/ACT ``models/carbon_intensity/source.yaml`` (coal 820, gas 490, biomass 230,
#: solar 41, geothermal 38, hydro 24, nuclear 12, wind 11), plus oil 650 and "other" 230 from the
#: factor set HewlettPackard/dc-rl used for the EIA-930 series, so that the Canadian provinces and
#: the hourly US series share one basis. Tidal has no factor in either source and is counted as
#: hydro (0 % of every province's mix in the source anyway).
LIFECYCLE_G_PER_KWH: dict[str, float] = {
    "coal": 820.0,
    "naturalGas": 490.0,
    "petroleum": 650.0,
    "biomass": 230.0,
    "solar": 41.0,
    "hydro": 24.0,
    "tidal": 24.0,
    "nuclear": 12.0,
    "wind": 11.0,
    "other": 230.0,
}

CANADA_CODES = {
    "alberta": "CA-AB",
    "british columbia": "CA-BC",
    "manitoba": "CA-MB",
    "new brunswick": "CA-NB",
    "newfoundland and labrador": "CA-NL",
    "northwest territories": "CA-NT",
    "nova scotia": "CA-NS",
    "nunavut": "CA-NU",
    "ontario": "CA-ON",
    "prince edward island": "CA-PE",
    "quebec": "CA-QC",
    "saskatchewan": "CA-SK",
    "yukon": "CA-YT",
}

US_BAS = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    from wattwise.outputs import atomic_output

    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])


def _subnational_rows(ref: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    usa = json.loads((ref / "codecarbon" / "usa_emissions.json").read_text(encoding="utf-8"))
    unit = usa.pop("_unit")["emissions"]
    assert unit == "lbs/MWh", unit  # the file states its own unit; refuse a silent change
    for name, entry in sorted(usa.items(), key=lambda kv: str(kv[1]["regionCode"])):
        code = str(entry["regionCode"])
        if code == "usa":  # the national total; the country table covers the US
            continue
        # Pitfall: CodeCarbon stores eGRID in lb/MWh; multiply (not divide) by 0.45359237.
        g_per_kwh = float(entry["emissions"]) * LB_PER_MWH_TO_G_PER_KWH
        rows.append(
            [
                f"US-{code}",
                "US",
                name.title(),
                2016,
                _fmt(g_per_kwh),
                "direct (eGRID output emission rate)",
                "US EPA eGRID 2016 (public domain) via mlco2/codecarbon usa_emissions.json"
                " @ b05965e, lb/MWh x 0.45359237",
            ]
        )
    canada = json.loads((ref / "codecarbon" / "canada_energy_mix.json").read_text(encoding="utf-8"))
    for name, shares in sorted(canada.items()):
        total = float(shares["total"])
        g = sum(float(shares[fuel]) * factor for fuel, factor in LIFECYCLE_G_PER_KWH.items())
        g_per_kwh = g / total  # shares are % and add up to ~100 (99.9-100.2 in the source)
        rows.append(
            [
                CANADA_CODES[name],
                "CA",
                name.title(),
                2023,
                _fmt(g_per_kwh),
                "lifecycle (IPCC AR5 medians x generation mix)",
                "generation mix % from mlco2/codecarbon canada_energy_mix.json @ b05965e (2023);"
                " factors IPCC AR5 via facebookresearch/ACT source.yaml + dc-rl oil/other",
            ]
        )
    nordic = json.loads((ref / "codecarbon" / "nordic_emissions.json").read_text(encoding="utf-8"))
    for zone, entry in sorted(nordic["data"].items()):
        if zone == "FI":  # a whole-country zone: the country table holds Finland
            continue
        rows.append(
            [
                zone,
                zone[:2],
                entry["description"],
                int(entry["year"]),
                _fmt(float(entry["emission_factor"])),
                "unspecified (static average)",
                "mlco2/codecarbon nordic_emissions.json @ b05965e ('historical averages from"
                " ENTSO-E data')",
            ]
        )
    return rows


#: Country (ISO 3166-1 alpha-2) of each place a cloud source names as a region's location. The
#: sources name a country (AWS, GCP), a US state or a city (Azure, GCP); wattwise maps the name to
#: its country, so that a cloud region takes its country's price. Places as the providers' region
#: pages locate them (Azure "Gavle" = Gävle, Sweden; GCP "Eemshaven" = Netherlands; "Dammam" =
#: Saudi Arabia). A location missing here stops the build: add it, do not guess.
CLOUD_LOCATION_COUNTRY: dict[str, str] = {
    # countries and territories
    "australia": "AU", "bahrain": "BH", "belgium": "BE", "brazil": "BR", "canada": "CA",
    "china": "CN", "finland": "FI", "france": "FR", "germany": "DE", "hong kong": "HK",
    "india": "IN", "indonesia": "ID", "ireland": "IE", "italy": "IT", "japan": "JP",
    "mexico": "MX", "netherlands": "NL", "singapore": "SG", "south africa": "ZA",
    "south korea": "KR", "sweden": "SE", "switzerland": "CH", "taiwan": "TW",
    "united states": "US", "england": "GB",
    # US states
    "arizona": "US", "california": "US", "georgia": "US", "illinois": "US", "iowa": "US",
    "oklahoma": "US", "oregon": "US", "south carolina": "US", "texas": "US", "virginia": "US",
    "northern virginia": "US", "washington": "US", "wyoming": "US",
    # cities
    "brussels": "BE", "cardiff": "GB", "london": "GB", "chennai": "IN", "mumbai": "IN",
    "pune": "IN", "delhi": "IN", "gavle": "SE", "stockholm": "SE", "paris": "FR",
    "berlin": "DE", "frankfurt": "DE", "columbus": "US", "dallas": "US", "las vegas": "US",
    "los angeles": "US", "salt lake city": "US", "dammam": "SA", "doha": "QA",
    "eemshaven": "NL", "jakarta": "ID", "johannesburg": "ZA", "madrid": "ES", "milan": "IT",
    "turin": "IT", "melbourne": "AU", "sydney": "AU", "montreal": "CA", "montréal": "CA",
    "toronto": "CA", "osaka": "JP", "tokyo": "JP", "santiago": "CL", "sao paulo": "BR",
    "são paulo": "BR", "sāo paulo": "BR", "seoul": "KR", "tel aviv": "IL", "warsaw": "PL",
    "zurich": "CH", "zürich": "CH", "bangkok": "TH",
    # US states named together (GCP us-east7, 2025)
    "alabama and tennessee": "US",
}  # fmt: skip


def _location_country(provider: str, region: str, location: str) -> str:
    """ISO alpha-2 country of a cloud region's location (:data:`CLOUD_LOCATION_COUNTRY`)."""
    iso2 = CLOUD_LOCATION_COUNTRY.get(location.strip().lower())
    if iso2 is None:
        raise ValueError(
            f"{provider}:{region}: no country known for location {location!r};"
            " add it to CLOUD_LOCATION_COUNTRY"
        )
    return iso2


def _azure_key(name: str) -> str:
    """Azure display name to its programmatic name: ``West Europe`` -> ``westeurope``."""
    return name.lower().replace(" ", "")


def _cloud_rows(ref: Path) -> tuple[list[list[object]], list[str]]:
    rows: list[list[object]] = []
    rejected: list[str] = []
    ccf = ref / "cloud-carbon-footprint"
    for provider in ("aws", "azure", "gcp"):
        with (ccf / f"grid-emissions-factors-{provider}.csv").open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                raw = r["CO2e (metric ton/kWh)"].strip()
                # Pitfall: these factors are metric TONNES per kWh; x 1e6 gives g/kWh.
                g_per_kwh = float(raw) * TONNES_PER_KWH_TO_G_PER_KWH
                region = r["Region"].strip()
                if not _plausible_intensity(g_per_kwh):
                    # e.g. Azure "Finland Central" 000077 and "Germany West Central" 000402: the
                    # leading "0." is missing in the source, which reads as 77 / 402 t/kWh.
                    rejected.append(f"{provider}:{region}={raw}")
                    continue
                key = _azure_key(region) if provider == "azure" else region
                location = r.get("Country") or r.get("Location") or ""
                year, what = (None, r["Source"].strip())
                if provider != "gcp":  # GCP rows: Google's factors, undated by CCF
                    year, what = ccf_source_year(r["Source"])
                    what += f", {CCF_METHODOLOGY}"
                rows.append(
                    [
                        provider,
                        key,
                        location.strip(),
                        _location_country(provider, key, location),
                        year,
                        _fmt(g_per_kwh),
                        "",
                        "unspecified (mix of eGRID, EEA, carbonfootprint.com factors)",
                        f"cloud-carbon-footprint/ccf-coefficients @ b0032d9 (Apache-2.0),"
                        f" source {what}, t/kWh x 1e6",
                    ]
                )
    for path in _google_years(ref):
        year = int(path.stem)
        commit = GOOGLE_COMMITS.get(year, GOOGLE_COMMIT)
        with path.open(encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            col = next(c for c in fields if "carbon intensity" in c)
            # Pitfall: 2019-2020 files give lifecycle intensity, later ones location-based grid.
            basis = "lifecycle" if col.startswith("Lifecycle") else "location-based"
            for r in reader:
                cfe = r["Google CFE"].strip()
                if cfe:
                    # Pitfall: a 0-1 fraction, not a percentage.
                    assert 0.0 <= float(cfe) <= 1.0, (path, r)
                value = float(r[col])
                if not _plausible_intensity(value):
                    rejected.append(f"gcp:{r['Google Cloud Region']}@{year}={value}")
                    continue
                region = r["Google Cloud Region"].strip()
                if r["Location"].strip().upper() == "N/A":  # 2025: europe-west5 has no place
                    rejected.append(f"gcp:{region}@{year}: location N/A")
                    continue
                rows.append(
                    [
                        "gcp",
                        region,
                        r["Location"].strip(),
                        _location_country("gcp", region, r["Location"]),
                        year,
                        _fmt(value),
                        cfe,
                        basis,
                        f"GoogleCloudPlatform/region-carbon-info @ {commit} (Apache-2.0)",
                    ]
                )
    return rows, rejected


def _us_price_rows(ref: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    path = ref / "prices-us-eia" / "avgprice_annual_1990-2020.csv"
    # Pitfall: the first header carries a UTF-8 BOM (utf-8-sig strips it); "NA" marks no data.
    with path.open(encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            if r["Year"] != "2020" or r["Industry Sector Category"] != "Total Electric Industry":
                continue
            for sector, col in (
                ("commercial", "Commercial"),
                ("industrial", "Industrial"),
                ("all", "Total"),
            ):
                cents = r[col].strip()
                if cents in ("", "NA"):
                    continue
                key = "US" if r["State"] == "US" else f"US-{r['State']}"
                rows.append(
                    [
                        key,
                        sector,
                        "2020",
                        _fmt(float(cents) / 100.0, 4),  # cents/kWh -> USD/kWh
                        "USD",
                        "retail average (EIA-861), all taxes as billed",
                        "US EIA average retail price by state and sector, Form EIA-861,"
                        " 'Total Electric Industry' (public domain)",
                    ]
                )
    return rows


def _smard_rows(ref: Path) -> list[list[object]]:
    """Yearly mean day-ahead price per bidding zone (hours with a price only)."""
    rows: list[list[object]] = []
    for year in (2015, 2018):
        path = ref / "prices-eu-wholesale-smard" / f"Day-ahead_prices_{year}.csv"
        with path.open(encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=";")
            header = next(reader)
            zones = [h.replace("[€/MWh]", "").strip() for h in header[2:]]
            sums = [0.0] * len(zones)
            counts = [0] * len(zones)
            for r in reader:
                for i, cell in enumerate(r[2:]):
                    cell = cell.strip()
                    if cell in ("", "-"):  # "-" marks an hour without a price for that zone
                        continue
                    # Values use "." decimals; a thousands "," appears in some exports.
                    sums[i] += float(cell.replace(",", ""))
                    counts[i] += 1
        for zone, s, n in zip(zones, sums, counts, strict=True):
            if n == 0:
                continue
            rows.append(
                [
                    zone,
                    year,
                    _fmt(s / n / 1000.0, 5),  # EUR/MWh -> EUR/kWh
                    n,
                    "EUR",
                    "Bundesnetzagentur | SMARD.de (CC BY 4.0), mean of hourly day-ahead prices",
                ]
            )
    return rows


def _hourly_us(ref: Path) -> bytes:
    cols: dict[str, list[str]] = {}
    stamps: list[str] = []
    for ba in US_BAS:
        name = "PJM" if ba == "PJM" else ba
        path = ref / "hourly-us-eia930" / f"{name}_2022_hourly_gen_avgCI.csv"
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        these = [
            datetime.fromisoformat(r["timestamp"])
            .astimezone(timezone.utc)
            .strftime("%Y-%m-%dT%H:%MZ")
            for r in rows
        ]
        if not stamps:
            stamps = these
        assert these == stamps, ba
        vals = []
        for r in rows:
            v = r["avg_CI"].strip()
            vals.append("" if not v else _fmt(float(v), 1))  # empty = hour with no data
        cols[ba] = vals
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["timestamp_utc", *US_BAS])
    for i, t in enumerate(stamps):
        w.writerow([t, *(cols[ba][i] for ba in US_BAS)])
    return gzip.compress(buf.getvalue().encode("utf-8"), mtime=0)


def _hourly_gb(ref: Path) -> bytes:
    path = ref / "hourly-gb" / "gb_national_ci_hourly_2020-01-08_2025-09-30.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["timestamp_utc", "GB"])
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            t = datetime.fromisoformat(r["datetime_utc"].replace("Z", "+00:00"))
            v = float(r["carbon_intensity_gco2_per_kwh"])
            assert math.isfinite(v)
            w.writerow([t.strftime("%Y-%m-%dT%H:%MZ"), _fmt(v, 1)])
    return gzip.compress(buf.getvalue().encode("utf-8"), mtime=0)


#: Google's yearly files: the shared reference-data copy (2019-2024) and newer years from the
#: repository's own ``reference/`` folder (see its README), each with the commit it came from.
GOOGLE_COMMIT = "49f3f26"
GOOGLE_COMMITS: dict[int, str] = {2025: "74d9bf8"}
REPO_REFERENCE = Path(__file__).resolve().parents[3] / "reference"


def _google_years(ref: Path) -> list[Path]:
    """One file per year, the shared folder's first, then the repository's newer years."""
    by_year: dict[int, Path] = {}
    for folder in (REPO_REFERENCE / "grid-google-cloud", ref / "grid-google-cloud"):
        for path in folder.glob("20*.csv"):
            by_year[int(path.stem)] = path  # the shared folder (read last) wins a tie
    return [by_year[y] for y in sorted(by_year)]


def build(ref: Path, out: Path) -> dict[str, list[str]]:
    """Write every generated table under ``out``; returns the rows rejected per table."""
    c_rows, rej_country = country_rows(ref, REPO_REFERENCE, out / "countries.csv")
    _write_csv(
        out / "grid_country.csv",
        ["iso2", "iso3", "name", "year", "intensity_g_per_kwh", "basis", "source"],
        c_rows,
    )
    _write_csv(
        out / "grid_subnational.csv",
        ["key", "country_iso2", "name", "year", "intensity_g_per_kwh", "basis", "source"],
        _subnational_rows(ref),
    )
    cloud_rows, rej_cloud = _cloud_rows(ref)
    _write_csv(
        out / "grid_cloud.csv",
        [
            "provider",
            "region",
            "location",
            "country_iso2",
            "year",
            "intensity_g_per_kwh",
            "cfe_fraction",
            "basis",
            "source",
        ],
        cloud_rows,
    )
    _write_csv(
        out / "prices_us_eia.csv",
        ["key", "sector", "period", "price_per_kwh", "currency", "tax_basis", "source"],
        _us_price_rows(ref),
    )
    _write_csv(
        out / "prices_eu_wholesale.csv",
        ["zone", "year", "mean_price_per_kwh", "hours", "currency", "source"],
        _smard_rows(ref),
    )
    from wattwise.outputs import atomic_write_bytes

    atomic_write_bytes(out / "hourly_us_eia930_2022.csv.gz", _hourly_us(ref))
    atomic_write_bytes(out / "hourly_gb_neso.csv.gz", _hourly_gb(ref))
    return {"grid_country.csv": rej_country, "grid_cloud.csv": rej_cloud}


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    ref = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).parent
    rejected = build(ref, out)
    for table, rows in rejected.items():
        for row in rows:
            print(f"rejected {table}: {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

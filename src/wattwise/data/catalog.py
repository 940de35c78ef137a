"""What reference data ships with wattwise, where it came from, and a search over it.

The pure functions behind ``wattwise data list | show | search``.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.data.tables import read_rows, unknown_key
from wattwise.errors import DataError


@dataclass(frozen=True)
class TableInfo:
    """One shipped table: file name, what it holds, its source, data year(s) and licence."""

    name: str
    title: str
    source: str
    year: str
    licence: str
    units: str


CATALOG: tuple[TableInfo, ...] = (
    TableInfo(
        "grid_world.csv",
        "World-average grid intensity (used when no location is given)",
        "Ember / Our World in Data via facebookresearch/ACT @ abc9fbb (2023); OWID's grapher"
        " carbon-intensity-electricity, mid-2025 download (2024)",
        "2023-2024 (latest the default)",
        "CC BY 4.0 (data); MIT (ACT)",
        "gCO2e/kWh, lifecycle",
    ),
    TableInfo(
        "grid_country.csv",
        "Grid intensity per country (ISO alpha-2 and alpha-3)",
        "Our World in Data / Ember / Energy Institute: via mlco2/codecarbon @ b05965e (2021-2023)"
        " and OWID's grapher carbon-intensity-electricity, mid-2025 download (newer years)",
        "2021-2024, several years per country (latest the default; one country 2009)",
        "CC BY 4.0 (data); MIT (CodeCarbon)",
        "gCO2e/kWh, lifecycle",
    ),
    TableInfo(
        "grid_subnational.csv",
        "Sub-national grids: US states, Canadian provinces, Nordic bidding zones",
        "US EPA eGRID 2016; Canadian generation mix + IPCC AR5 factors; ENTSO-E averages"
        " (all via mlco2/codecarbon @ b05965e)",
        "2016 (US), 2023 (CA), 2024 (Nordic)",
        "public domain (eGRID); MIT (CodeCarbon)",
        "gCO2e/kWh (US converted from lb/MWh)",
    ),
    TableInfo(
        "grid_cloud.csv",
        "Cloud regions: AWS, Azure, GCP (GCP per year 2019-2025 with Google CFE); each region's"
        " country (ISO alpha-2, from its location; wattwise's map) for its price",
        "cloud-carbon-footprint/ccf-coefficients @ b0032d9; GoogleCloudPlatform/region-carbon-info"
        " @ 49f3f26 and @ 74d9bf8 (2025)",
        "CCF: 2019 (EPA eGRID2019), 2020 (carbonfootprint.com), EEA/EMA rows undated;"
        " 2019-2025 (Google)",
        "Apache-2.0",
        "gCO2e/kWh (CCF converted from t/kWh); CFE fraction 0-1",
    ),
    TableInfo(
        "pue.csv",
        "PUE presets: cloud providers, cooling types, industry average by year",
        "Cloud Carbon Footprint constants; Uptime Institute surveys; published ranges",
        "2018-2024",
        "facts with citations",
        "ratio (>= 1)",
    ),
    TableInfo(
        "wue.csv",
        "Site water usage effectiveness (WUE) where published",
        "Jegham et al. 2025; Meta; Shehabi et al. 2016",
        "2016-2025",
        "facts with citations",
        "L per kWh of IT energy",
    ),
    TableInfo(
        "prices_us_eia.csv",
        "US electricity prices per state and sector (commercial, industrial, all)",
        "US EIA Form EIA-861 average retail price",
        "2020",
        "public domain",
        "USD/kWh (converted from cents/kWh)",
    ),
    TableInfo(
        "prices_eurostat.csv",
        "EU non-household electricity prices (Eurostat nrg_pc_205) where a figure was published",
        "Eurostat news release / Statistics Explained",
        "2023-S2 to 2025-S1",
        "CC BY 4.0 (Eurostat)",
        "EUR/kWh excluding VAT and recoverable taxes",
    ),
    TableInfo(
        "prices_eu_wholesale.csv",
        "European day-ahead wholesale prices, yearly mean per bidding zone (reference only)",
        "Bundesnetzagentur | SMARD.de",
        "2015, 2018",
        "CC BY 4.0",
        "EUR/kWh (from EUR/MWh), no network charges or taxes",
    ),
    TableInfo(
        "embodied.csv",
        "Embodied (manufacturing) carbon per device, with its boundary (die / card / server share)",
        "LLMCarbon (MLCarbon @ dbd96b7); Luccioni et al. 2022; Morrison et al. 2025",
        "2022-2024",
        "Apache-2.0 (LLMCarbon); facts with citations",
        "kgCO2e per device",
    ),
    TableInfo(
        "network_energy.csv",
        "Electricity intensity of data transfer per network boundary, with year trend and range",
        "Schien et al. 2015; Aslan et al. 2018; EC ICT Impact Study 2020; Cloud Carbon Footprint",
        "2014-2021",
        "facts with citations; Apache-2.0 (Cloud Carbon Footprint)",
        "kWh per GB (10^9 bytes)",
    ),
    TableInfo(
        "client_devices.csv",
        "Power of a federated-learning client device while training (phone, laptop)",
        "Intel ARK (i7-1185G7 TDP); phone assumed (no published figure)",
        "2021",
        "facts with citations",
        "W",
    ),
    TableInfo(
        "hourly_us_eia930_2022.csv.gz",
        "Hourly grid intensity of 8 US balancing authorities",
        "US EIA Form EIA-930 via HewlettPackard/dc-rl @ a92b4755",
        "2022",
        "public domain (EIA); MIT (dc-rl)",
        "gCO2e/kWh, lifecycle, UTC hour-beginning",
    ),
    TableInfo(
        "hourly_gb_neso.csv.gz",
        "Hourly grid intensity of Great Britain",
        "National Energy System Operator (NESO) historic generation-mix intensity",
        "2020-01-08 to 2025-09-30",
        "CC BY 4.0 (NESO open data)",
        "gCO2/kWh, direct, UTC hour-beginning",
    ),
    TableInfo(
        "hourly_regions.csv",
        "Regions with an hourly series: grid keys, GB, cloud regions mapped to their grid",
        "wattwise (cloud region locations from the providers' region pages)",
        "2026",
        "facts (hand-curated map)",
        "-",
    ),
    TableInfo(
        "marginal_cambium22_erct_month_hour.csv",
        "Modelled long-run marginal emission rate, ERCOT, 12 months x 24 hours",
        "NREL Cambium 2022, mid-case, 15-year levelized LRMER",
        "2022 (modelled)",
        "CC BY",
        "gCO2e/kWh, marginal (modelled)",
    ),
    TableInfo(
        "countries.csv",
        "ISO 3166-1 country codes (alpha-2, alpha-3, name)",
        "ISO 3166-1 via pycountry",
        "2026",
        "facts (code list)",
        "-",
    ),
    TableInfo(
        "hardware.csv",
        "Accelerator catalog: TDP, dense peak FLOP/s, memory, die area, embodied carbon",
        "vendor datasheets and papers, one source and verification note per row",
        "2016-2025",
        "facts with citations",
        "W, TFLOP/s, GB, mm2, kgCO2e",
    ),
    TableInfo(
        "cpu_tdp.csv",
        "CPU thermal design power by model",
        "mlco2/codecarbon cpu_power.csv @ b05965e",
        "-",
        "MIT",
        "W",
    ),
)


def data_catalog() -> tuple[TableInfo, ...]:
    """Every shipped table with its source, year and licence."""
    return CATALOG


def table_info(name: str) -> TableInfo:
    """Catalog entry of a table; ``name`` may omit the extension (``grid_country``)."""
    for t in CATALOG:
        if name in (t.name, t.name.split(".", 1)[0]):
            return t
    raise unknown_key("table", name, [t.name.split(".", 1)[0] for t in CATALOG])


def show_table(name: str) -> list[dict[str, str]]:
    """The rows of a table as dicts (header -> text)."""
    return read_rows(table_info(name).name)


@dataclass(frozen=True)
class SearchHit:
    """A row that matched a search: its table, line number and cells."""

    table: str
    line: int
    row: dict[str, str]


def search_data(query: str, limit: int = 50) -> list[SearchHit]:
    """Rows of the small tables whose cells contain every word of ``query`` (case-insensitive).

    Hourly series are not searched (they hold only numbers).
    """
    words = [w for w in query.lower().split() if w]
    if not words:
        return []
    hits: list[SearchHit] = []
    for t in CATALOG:
        if t.name.endswith(".gz"):
            continue
        try:
            rows = read_rows(t.name)
        except DataError:  # a table another module ships may be absent in a dev tree
            continue
        for i, row in enumerate(rows):
            text = " ".join(v for v in row.values() if v).lower()
            if all(w in text for w in words):
                hits.append(SearchHit(t.name, i + 2, row))
                if len(hits) >= limit:
                    return hits
    return hits

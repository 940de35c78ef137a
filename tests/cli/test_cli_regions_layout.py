"""``wattwise compare-regions``: aligned columns for long names, implausible zeros left out
with the reason, human units, JSON with raw numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli.clirun import wattwise
from wattwise.accounting import Context
from wattwise.accounting.compare import compare_regions, implausible

KEYS = "CF,gcp:northamerica-northeast1,DE,SE,aws:us-east-1"


def test_a_zero_intensity_in_the_source_table_is_flagged_and_sorted_last() -> None:
    rows = compare_regions(3.6e6, 60.0, Context(), KEYS.split(","))
    assert rows[-1].key == "CF" and "gap" in rows[-1].flag  # was the first, "0 g/kWh"
    assert all(not r.flag for r in rows[:-1])
    assert implausible(20.0) == "" and implausible(0.0)  # Lesotho's hydro grid is real


def test_compare_regions_columns_align_for_long_names_and_zeros_are_left_out(
    tmp_path: Path,
) -> None:
    env = {"WATTWISE_DB": str(tmp_path / "l.db")}
    run = wattwise("run", "--", "python3", "-c", "pass", **env)
    assert run.returncode == 0, run.stderr
    run_id = re.search(r"runs show ([0-9a-f]+)", run.stdout + run.stderr)
    assert run_id, run.stdout
    p = wattwise("compare-regions", run_id[1], "--keys", KEYS, **env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    head, rows = lines[1], [ln for ln in lines[2:] if not ln.strip().startswith("left out")]
    assert len(rows) == 4 and not any(r.split()[0] == "CF" for r in rows)
    # every right-aligned number column ends where its heading ends
    for name in ("g/kWh", "YEAR", "PUE", "CO2e loc", "CO2e mkt"):
        end = head.index(name) + len(name)
        assert all(r[end - 1] != " " and (len(r) == end or r[end] == " ") for r in rows), name
    assert head.index("KIND") > len("gcp:northamerica-northeast1")
    year_at = head.index("YEAR")
    years = {r.split()[0]: r[year_at : year_at + 4] for r in rows}
    assert years["DE"] == "2024" and years["aws:us-east-1"] == "2019"  # each factor's data year
    left = [ln for ln in lines if ln.strip().startswith("left out: CF")]
    assert left and "not a figure" in left[0]
    assert "e-0" not in p.stdout and "e+0" not in p.stdout and "(EU average)" in p.stdout
    doc = json.loads(wattwise("compare-regions", run_id[1], "--keys", KEYS, "--json", **env).stdout)
    assert [r["key"] for r in doc["flagged"]] == ["CF"] and doc["flagged"][0]["flag"]
    assert isinstance(doc["rows"][0]["co2e_location_g"], float)  # raw numbers in JSON

"""Accounting from the command line: footprints of runs, re-accounting, regions, data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.clirun import wattwise


@pytest.fixture
def run_id(tmp_path: Path) -> str:
    p = wattwise("run", "--quiet", "--json", "--country", "FR", "--pue", "1.2", "--", "true")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    fp = doc["footprint"]
    kwh = doc["energy"]["total_j"] / 3.6e6
    assert fp["facility_energy_kwh"] == pytest.approx(kwh * 1.2)
    assert fp["co2e_location_g"] == pytest.approx(kwh * 1.2 * fp["intensity_g_per_kwh"])
    for key in ("co2e_market_g", "water_l", "cost", "embodied_co2e_g", "assumptions"):
        assert key in fp
    assert fp["cost"]["currency"] == "EUR"
    return str(doc["run_id"])


def test_world_average_is_assumed_in_the_output() -> None:
    p = wattwise("run", "--json", "--", "true")
    assert p.returncode == 0, p.stderr
    fp = json.loads(p.stdout)["footprint"]
    grid = next(a for a in fp["assumptions"] if a["name"] == "grid_intensity")
    assert grid["provenance"] == "assumed" and "world" in grid["source"].lower()
    assert "assumed: grid_intensity" in p.stderr


def test_reaccount_stored_run(run_id: str) -> None:
    p = wattwise("runs", "show", run_id, "--country", "DE", "--pue", "1.1", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["footprint"]["pue"] == pytest.approx(1.1)
    assert "DE" in doc["footprint"]["location"]
    # without flags, the run's own context (France, PUE 1.2) is used again
    again = json.loads(wattwise("runs", "show", run_id, "--json").stdout)
    assert "FR" in again["footprint"]["location"] and again["footprint"]["pue"] == 1.2


def test_footprint_shows_the_grid_factors_year(run_id: str) -> None:
    text = wattwise("runs", "show", run_id)  # France: the latest year, 2024 (OWID/Ember)
    assert text.returncode == 0, text.stderr
    assert "44 g/kWh, 2024 data" in text.stdout
    p = wattwise("runs", "show", run_id, "--year", "2023", "--json")  # by-year keeps 2023
    assert p.returncode == 0, p.stderr
    fp = json.loads(p.stdout)["footprint"]
    assert fp["grid_year"] == 2023 and fp["intensity_g_per_kwh"] == pytest.approx(56.039)
    aws = wattwise("runs", "show", run_id, "--cloud", "aws", "--cloud-region", "eu-west-3")
    assert "52 g/kWh, year not stated by source" in aws.stdout  # CCF names no EEA year


def test_compare_regions_sorted(run_id: str) -> None:
    p = wattwise("compare-regions", run_id, "--keys", "PL,FR,US-CA,gcp:europe-west1", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["rows"]
    carbon = [r["co2e_location_g"] for r in rows]
    assert carbon == sorted(carbon) and len(rows) == 4
    assert rows[0]["key"] == "FR" and rows[-1]["key"] == "PL"
    text = wattwise("compare-regions", run_id, "--top", "3")
    assert text.returncode == 0 and "more (--top 0 for all)" in text.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--country", "Frnace"], "closest: France"),
        (["--pue", "0.9"], "PUE"),
        (["--cfe", "1.5"], "cfe"),
        (["--price", "-1"], "price"),
        (["--pue", "abc"], "not a number"),
    ],
)
def test_bad_context_is_one_line_exit_2(args: list[str], needle: str) -> None:
    p = wattwise("run", *args, "--", "true")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle.lower() in lines[0].lower(), p.stderr


def test_config_file_and_env(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cli.clirun import cli_env

    (tmp_path / "wattwise.toml").write_text('[tool.wattwise]\ncountry = "SE"\npue = 1.3\n')
    p = subprocess.run(
        [sys.executable, "-m", "wattwise", "run", "--json", "--", "true"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert p.returncode == 0, p.stderr
    fp = json.loads(p.stdout)["footprint"]
    assert "SE" in fp["location"] and fp["pue"] == 1.3
    p = subprocess.run(
        [sys.executable, "-m", "wattwise", "run", "--json", "--", "true"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(WATTWISE_PUE="1.05"),
    )
    assert json.loads(p.stdout)["footprint"]["pue"] == 1.05


def test_data_commands() -> None:
    listed = wattwise("data", "list", "--json")
    assert listed.returncode == 0
    tables = {t["name"]: t for t in json.loads(listed.stdout)}
    assert "grid_country.csv" in tables and tables["grid_country.csv"]["licence"]
    shown = wattwise("data", "show", "pue.csv", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["rows"]
    found = wattwise("data", "search", "europe-west1")
    assert "grid_cloud.csv" in found.stdout
    bad = wattwise("data", "show", "nope.csv")
    assert bad.returncode == 2
    assert "unknown" in bad.stderr or "closest" in bad.stderr


def test_detect_cloud_only_when_asked(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path.startswith("/computeMetadata/v1/instance/zone"):
                body = b"projects/1/zones/europe-west1-b"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def do_PUT(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        plain = wattwise("run", "--json", "--", "true", WATTWISE_CLOUD_METADATA_URL=url)
        assert plain.returncode == 0 and not hits  # no network unless asked
        p = wattwise(
            "run", "--json", "--detect-cloud", "--", "true", WATTWISE_CLOUD_METADATA_URL=url
        )
        assert p.returncode == 0, p.stderr
        fp = json.loads(p.stdout)["footprint"]
        assert "gcp:europe-west1" in fp["location"] and hits
    finally:
        srv.shutdown()

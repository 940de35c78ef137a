"""``wattwise estimate transfer`` / ``federated``: checked against hand calculations from the
cited presets (network_energy.csv, client_devices.csv)."""

from __future__ import annotations

import json

import pytest

from disclose.conftest import Cli
from wattwise.data.catalog import table_info
from wattwise.estimate.transfer import federated, intensity, network_presets, transfer


def test_presets_are_the_cited_figures() -> None:
    p = network_presets()
    assert (p["access-fixed"].kwh_per_gb, p["access-fixed"].base_year) == (0.06, 2015)  # Aslan
    assert p["core"].kwh_per_gb == 0.052  # Schien et al. 2015
    assert (p["mobile"].low_kwh_per_gb, p["mobile"].kwh_per_gb, p["mobile"].high_kwh_per_gb) == (
        0.104,
        0.14,
        0.23,
    )
    assert p["datacentre"].kwh_per_gb == 0.001  # Cloud Carbon Footprint
    assert "Aslan" in p["access-fixed"].source and table_info("network_energy").source


def test_transfer_by_hand() -> None:
    assert transfer(10, "access-fixed").energy_kwh.value == pytest.approx(0.6)  # 10 x 0.06
    t = transfer(10, "access-fixed", 2019)  # two halvings: 0.06 / 4 = 0.015 kWh/GB
    assert (t.energy_kwh.value, t.energy_kwh.low, t.energy_kwh.high) == pytest.approx(
        (0.15, 0.15, 0.6)
    )  # band: the trend .. the 2015 figure held flat
    assert "extrapolated" in t.intensity.year_note
    back = transfer(10, "access-fixed", 2011)  # back-cast: 0.06 x 4 = 0.24 kWh/GB
    assert (back.energy_kwh.value, back.energy_kwh.low, back.energy_kwh.high) == pytest.approx(
        (2.4, 0.6, 2.4)
    )
    m = transfer(2, "mobile", 2024)  # no trend: the 2020 figure, said so
    assert (m.energy_kwh.value, m.energy_kwh.low, m.energy_kwh.high) == pytest.approx(
        (0.28, 0.208, 0.46)
    )
    assert "no year trend" in m.intensity.year_note
    assert transfer(1000, "datacentre").energy_kwh.value == pytest.approx(1.0)
    assert intensity("core", 2014).kwh_per_gb.value == 0.052


def test_federated_by_hand() -> None:
    r = federated(
        10,
        5,
        100,
        device="laptop",
        local_steps=20,
        step_s=0.5,
        network="access-fixed",
        year=2015,
        data_mb=1000,
        central_kwh=0.5,
    )
    # network: 2 x 100 MB x 10 clients x 5 rounds = 10 GB x 0.06 = 0.6 kWh
    assert r.traffic_gb == pytest.approx(10.0) and r.network_kwh.value == pytest.approx(0.6)
    # clients: 10 x 5 x 20 steps x 0.5 s = 500 s = 0.13889 h x 28 W = 3.8889 Wh
    assert r.client_compute_kwh.value == pytest.approx(500 / 3600 * 28 / 1000)
    assert r.client_compute_kwh.low == pytest.approx(500 / 3600 * 12 / 1000)
    # centralised: 10 x 1000 MB = 10 GB x 0.06 = 0.6 kWh + 0.5 kWh of central training
    assert r.centralised_kwh.value == pytest.approx(1.1)
    fed = 0.6 + 500 / 3600 * 28 / 1000
    assert r.federated_kwh.value == pytest.approx(fed)
    assert r.break_even_rounds == pytest.approx(1.1 / (fed / 5))
    few = federated(
        10,
        1,
        100,
        device="laptop",
        network="access-fixed",
        year=2015,
        data_mb=1000,
        central_kwh=0.5,
    )
    assert few.federated_kwh.value < few.centralised_kwh.value  # one round: federated saves


def test_cli_json_and_errors(cli: Cli) -> None:
    code, out, err = cli("estimate", "transfer", "--gb", "10", "--year", "2019", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["energy_kwh"]["value"] == pytest.approx(0.15) and "Aslan" in doc["source"]
    code, out, err = cli(
        "estimate", "federated", "--clients", "100", "--rounds", "50", "--model-mb", "20", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["network"] == "mobile" and doc["device"] == "phone"
    assert any("--central-kwh not given" in n for n in doc["notes"])
    code, out, err = cli(
        "estimate", "federated", "--clients", "0", "--rounds", "1", "--model-mb", "1"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, err = cli("estimate", "transfer", "--gb", "1", "--network", "satellite")
    assert code == 2 and "satellite" in err
    code, out, err = cli("estimate", "transfer", "--gb", "3")
    assert code == 0 and "0.18 kWh" in out and "source:" in out

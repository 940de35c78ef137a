"""One set of defaults: the Python API, the CLI and the accounting module use the same figures,
read from the shipped tables where a table holds them."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pytest

from wattwise.accounting import Context, account
from wattwise.audit import analysis
from wattwise.cli.estimate import register
from wattwise.core.defaults import DEFAULT_LIFETIME_YEARS, LIFETIME_YEARS
from wattwise.core.units import DAYS_PER_YEAR, HOURS_PER_YEAR, SECONDS_PER_YEAR
from wattwise.data.lookup import industry_pue
from wattwise.data.tables import world_average
from wattwise.estimate import estimate_inference, estimate_training
from wattwise.estimate.hardware import get_hardware
from wattwise.estimate.site import context_from_accounting, resolve_estimate_context
from wattwise.estimate.types import default_context


@pytest.fixture
def clean_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No WATTWISE_* variable and no config file: every site factor is a default."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("WATTWISE_")]:
        monkeypatch.delenv(name)


def _cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="wattwise")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([*argv, "--json"])
    assert args.handler(args) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_default_site_factors_are_the_tables_figures() -> None:
    ctx = default_context()
    assert ctx.intensity_location_g_per_kwh.value == world_average().intensity_g_per_kwh
    assert ctx.pue.value == industry_pue().pue
    # no place, no price: unknown (never the US average), as for a footprint with no place
    assert ctx.price_per_kwh is None and ctx.currency is None
    assert account(3.6e6, "measured", 3600.0, Context()).cost is None
    assert "grid_world.csv" in ctx.intensity_location_g_per_kwh.source
    assert "pue.csv" in ctx.pue.source


def test_api_and_cli_site_defaults_agree(clean_site: None) -> None:
    api = default_context()
    for cli in (context_from_accounting(Context()), resolve_estimate_context({}, {}, ())):
        for name in ("pue", "intensity_location_g_per_kwh", "market"):
            a, c = getattr(api, name), getattr(cli, name)
            assert (c.value, c.band) == (a.value, a.band), name
            assert a.provenance == c.provenance == "assumed", name
        assert cli.price_per_kwh is api.price_per_kwh is None
        assert cli.currency is api.currency is None


def test_accounting_default_world_intensity_and_pue_match_the_estimator() -> None:
    fp = account(3.6e6, "measured", 3600.0, Context())
    ctx = default_context()
    assert fp.intensity_g_per_kwh == ctx.intensity_location_g_per_kwh.value
    assert fp.pue == ctx.pue.value


def test_api_and_cli_training_estimates_agree(
    clean_site: None, capsys: pytest.CaptureFixture[str]
) -> None:
    api = estimate_training(hardware="H100", params=7e9, tokens=1e12, chips=64).to_dict()
    cli = _cli_json(["estimate", "train", "--hardware", "H100", "--params", "7B",
                     "--tokens", "1T", "--chips", "64"], capsys)  # fmt: skip
    for key in ("it_energy_kwh", "facility_energy_kwh", "co2e_location_kg", "co2e_market_kg",
                "embodied_co2e_kg"):  # fmt: skip
        for end in ("value", "low", "high"):
            assert cli[key][end] == pytest.approx(api[key][end], rel=1e-9), (key, end)
    unknown = {"value": None, "low": None, "high": None, "currency": None}
    assert cli["cost"] == api["cost"] == unknown  # no place: no price, in both


def test_api_and_cli_serving_estimates_agree(
    clean_site: None, capsys: pytest.CaptureFixture[str]
) -> None:
    api = estimate_inference(hardware="H100", params=8e9, input_tokens=500, output_tokens=300,
                             requests_per_day=1e6).to_dict()  # fmt: skip
    cli = _cli_json(["estimate", "infer", "--hardware", "H100", "--params", "8B",
                     "--input-tokens", "500", "--output-tokens", "300",
                     "--requests-per-day", "1000000"], capsys)  # fmt: skip
    for period in ("daily", "yearly"):
        for key in ("energy_kwh", "co2e_location_kg"):
            assert cli[period][key]["value"] == pytest.approx(api[period][key]["value"], rel=1e-9)
        assert cli[period]["cost"] == api[period]["cost"]
        assert cli[period]["cost"]["value"] is None and cli[period]["cost"]["currency"] is None


def test_one_embodied_lifetime_for_estimates_and_footprints() -> None:
    """150 kgCO2e of card over one year: the estimator and the accounting module amortise alike."""
    assert LIFETIME_YEARS.band.value == DEFAULT_LIFETIME_YEARS
    card_kg = 150.0
    fp = account(0.0, "measured", SECONDS_PER_YEAR, Context(), devices=[("gpu", "X", 1)])
    assert fp.embodied_co2e_g == pytest.approx(card_kg * 1000 / DEFAULT_LIFETIME_YEARS)
    life = fp.assumption("embodied_lifetime")
    assert life.value == DEFAULT_LIFETIME_YEARS and life.provenance == "assumed"
    acc = get_hardware("H100")
    est = estimate_training(hardware=acc, chip_hours=HOURS_PER_YEAR)
    assert acc.embodied_kgco2e is not None
    assert est.embodied_co2e_kg.value == pytest.approx(acc.embodied_kgco2e / DEFAULT_LIFETIME_YEARS)


def test_one_year_length_everywhere() -> None:
    assert DAYS_PER_YEAR == 365.25
    assert analysis.DAYS_PER_YEAR == DAYS_PER_YEAR
    est = estimate_inference(hardware="H100", params=8e9, input_tokens=100, output_tokens=100,
                             requests_per_day=1e5)  # fmt: skip
    day, year = est.daily["energy_kwh"].value, est.yearly["energy_kwh"].value
    assert math.isclose(year, day * DAYS_PER_YEAR)

"""No electricity price for the place: every estimated cost is unknown ("unknown — give
--price"), in the API, the JSON and the human output, never the US average in USD. A US place
keeps its US price; a price the user gives wins and is badged ``given``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from wattwise.accounting import Context
from wattwise.accounting.money import UNKNOWN_PRICE
from wattwise.audit import analysis
from wattwise.cli import Parser
from wattwise.cli.estimate import register
from wattwise.estimate import estimate_training
from wattwise.estimate.site import resolve_estimate_context
from wattwise.estimate.training import TrainingInputs, training_estimate
from wattwise.report.markup import money

NO_PRICE = ["--cloud", "aws", "--cloud-region", "ap-northeast-1"]  # Japan: no shipped price
US = ["--cloud", "aws", "--cloud-region", "us-east-1"]
TRAIN = ["train", "--hardware", "H100", "--params", "7B", "--tokens", "1T", "--chips", "64"]
INFER = ["infer", "--hardware", "H100", "--params", "8B", "--input-tokens", "500",
         "--output-tokens", "200", "--requests-per-day", "100000"]  # fmt: skip
UNKNOWN_COST = {"value": None, "low": None, "high": None, "currency": None}


@pytest.fixture(autouse=True)
def clean_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("WATTWISE_")]:
        monkeypatch.delenv(name)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = Parser(prog="wattwise")
    register(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(["estimate", *argv])
    assert args.handler(args) == 0
    out: str = capsys.readouterr().out
    return out


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run([*argv, "--json"], capsys))
    return data


def _costs(data: dict[str, Any]) -> list[dict[str, Any]]:
    if data["kind"] == "infer":
        return [data["daily"]["cost"], data["yearly"]["cost"]]
    return [data["cost"]]


def _price(data: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in data["assumptions"] if a["name"] == "electricity_price")


def _cost_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.split()[:2] and "cost" in line.split()[:2]]


@pytest.mark.parametrize("cmd", [TRAIN, INFER], ids=["train", "infer"])
def test_cloud_region_without_a_price_has_unknown_cost_not_usd(
    cmd: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    data = _json([*cmd, *NO_PRICE], capsys)
    assert all(c == UNKNOWN_COST for c in _costs(data))
    price = _price(data)
    assert price["value"] == "unknown" and UNKNOWN_PRICE in price["source"]
    assert "USD" not in json.dumps(data)
    lines = _cost_lines(_run([*cmd, *NO_PRICE], capsys))
    shown = re.compile(rf"\s+(daily |yearly )?cost\s+{re.escape(UNKNOWN_PRICE)}")
    assert lines and all(shown.fullmatch(line) for line in lines)


@pytest.mark.parametrize("cmd", [TRAIN, INFER], ids=["train", "infer"])
def test_us_region_keeps_its_usd_price(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    data = _json([*cmd, *US], capsys)
    for cost in _costs(data):
        assert cost["currency"] == "USD" and cost["low"] <= cost["value"] <= cost["high"]
        assert cost["value"] > 0
    price = _price(data)
    assert price["provenance"] == "estimated" and "prices_us_eia.csv" in price["source"]
    lines = _cost_lines(_run([*cmd, *US], capsys))
    assert lines and all("USD" in line and UNKNOWN_PRICE not in line for line in lines)


@pytest.mark.parametrize("cmd", [TRAIN, INFER], ids=["train", "infer"])
def test_given_price_wins_where_the_place_has_none(
    cmd: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    data = _json([*cmd, *NO_PRICE, "--price", "0.3", "--currency", "JPY"], capsys)
    energy = data["daily"]["energy_kwh"] if cmd is INFER else data["facility_energy_kwh"]
    cost = _costs(data)[0]
    assert cost["currency"] == "JPY"
    assert cost["value"] == pytest.approx(energy["value"] * 0.3, rel=1e-5)
    price = _price(data)
    assert price["provenance"] == "given" and price["unit"] == "JPY/kWh"
    assert "given by you (--price)" in price["source"]
    lines = _cost_lines(_run([*cmd, *NO_PRICE, "--price", "0.3", "--currency", "JPY"], capsys))
    assert lines and all("JPY" in line and UNKNOWN_PRICE not in line for line in lines)


def test_api_default_context_has_no_price_and_a_rental_does_not_make_a_cost() -> None:
    est = estimate_training(hardware="H100", params=7e9, tokens=1e12, chips=64)
    assert est.cost is None and est.currency is None
    rented = training_estimate(TrainingInputs(hardware="H100", params=7e9, tokens=1e12,
                                              chips=64, cost_per_chip_hour=2.0))  # fmt: skip
    assert rented.cost is None and rented.to_dict()["cost"] == UNKNOWN_COST
    rental = next(a for a in rented.assumptions if a.name == "cost_per_chip_hour")
    assert rental.unit == "currency unknown/chip-hour"


def test_context_from_a_place_without_a_price_has_none() -> None:
    ctx = resolve_estimate_context({"cloud": "aws", "cloud_region": "ap-northeast-1"}, {}, ())
    assert ctx.price_per_kwh is None and ctx.currency is None and not ctx.priced
    us = resolve_estimate_context({"cloud": "aws", "cloud_region": "us-east-1"}, {}, ())
    assert us.priced and us.currency == "USD"


def test_audit_hardware_table_cost_reads_unknown_where_the_place_has_no_price() -> None:
    ctx = Context(cloud="aws", cloud_region="ap-northeast-1")
    rows = analysis.hardware_rows(1.2e6, 16, 64, 1e4, ctx)
    assert rows and all(r["year_cost"] is None and r["currency"] == "" for r in rows)
    assert all(str(money(r["year_cost"], r["currency"])) == UNKNOWN_PRICE for r in rows)
    us = analysis.hardware_rows(1.2e6, 16, 64, 1e4, Context(cloud="aws", cloud_region="us-east-1"))
    assert us and all(r["year_cost"] > 0 and r["currency"] == "USD" for r in us)

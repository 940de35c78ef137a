"""User-given values are badged ``given`` ("given by you"), never ``estimated`` or ``measured``
(issue 11 B4: ``finetune_method = lora [estimated] given by the user``, ``--power-w 200``
shown as measured)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from wattwise.cli.estimate import register
from wattwise.core import Assumption, Provenance
from wattwise.estimate import estimate_finetune, estimate_inference, estimate_training
from wattwise.estimate.site import resolve_estimate_context
from wattwise.estimate.types import context_from_numbers


def _by_name(assumptions: tuple[Assumption, ...]) -> dict[str, Assumption]:
    return {a.name: a for a in assumptions}


def test_finetune_method_given_by_the_user_is_given_not_estimated() -> None:
    given = _by_name(estimate_finetune(hardware="A100", params=7e9, tokens=1e8,
                                       method="lora").assumptions)  # fmt: skip
    assert given["finetune_method"].provenance is Provenance.GIVEN
    assert given["finetune_method"].value == "lora"
    default = _by_name(estimate_finetune(hardware="A100", params=7e9, tokens=1e8).assumptions)
    assert default["finetune_method"].provenance is Provenance.ASSUMED
    assert default["finetune_method"].value == "lora"


def test_power_given_by_the_user_is_given_not_measured() -> None:
    """wattwise did not measure ``--power-w 200``: an estimate never claims a measurement."""
    est = estimate_training(hardware="H100", chip_hours=1000, power_w=200)
    a = _by_name(est.assumptions)["power_per_chip"]
    assert a.provenance is Provenance.GIVEN and a.value == "200"
    assert _by_name(est.assumptions)["power_basis"].provenance is Provenance.GIVEN  # implied
    assert not [x.name for x in est.assumptions if x.provenance is Provenance.MEASURED]


def test_every_training_input_the_user_gives_is_given() -> None:
    est = estimate_finetune(hardware="H100", params=7e9, tokens=1e9, mfu=0.4, method="qlora",
                            power_basis="tdp", cost_per_chip_hour=2.0,
                            scratch_tokens=1e12)  # fmt: skip
    by = _by_name(est.assumptions)
    for name in ("mfu", "finetune_method", "power_basis", "cost_per_chip_hour", "scratch_tokens"):
        assert by[name].provenance is Provenance.GIVEN, name
    flops = _by_name(estimate_training(hardware="H100", flops=1e21).assumptions)["flops"]
    hours = _by_name(estimate_training(hardware="H100", chip_hours=10.0).assumptions)
    assert flops.provenance is Provenance.GIVEN
    assert hours["chip_hours"].provenance is Provenance.GIVEN


def test_training_defaults_stay_assumed() -> None:
    by = _by_name(estimate_training(hardware="H100", params=7e9, tokens=1e12).assumptions)
    for name in ("mfu", "power_basis", "chips", "pue", "grid_intensity_location"):
        assert by[name].provenance is Provenance.ASSUMED, name
    assert by["flops"].provenance is Provenance.ESTIMATED  # computed by wattwise: 6 N D


def test_every_serving_input_the_user_gives_is_given() -> None:
    est = estimate_inference(hardware="H100", params=8e9, input_tokens=500, output_tokens=300,
                             requests_per_day=1e5, batch_size=16, kv_bytes_per_token=131072,
                             mfu_prefill=0.5, bandwidth_efficiency=0.4, always_on=True)  # fmt: skip
    by = _by_name(est.assumptions)
    for name in ("batch_size", "kv_bytes_per_token", "mfu_prefill", "bandwidth_efficiency",
                 "always_on"):  # fmt: skip
        assert by[name].provenance is Provenance.GIVEN, name
    default = _by_name(estimate_inference(hardware="H100", params=8e9, input_tokens=500,
                                          output_tokens=300).assumptions)  # fmt: skip
    for name in ("batch_size", "kv_bytes_per_token", "mfu_prefill", "bandwidth_efficiency"):
        assert default[name].provenance is Provenance.ASSUMED, name


def test_site_numbers_given_by_the_user_are_given() -> None:
    ctx = context_from_numbers(pue=1.2, intensity_location_g_per_kwh=100.0, price_per_kwh=0.2,
                               currency="EUR")  # fmt: skip
    by = _by_name(tuple(ctx.assumptions()))
    for name in ("pue", "grid_intensity_location", "electricity_price"):
        assert by[name].provenance is Provenance.GIVEN, name
    assert by["grid_intensity_market"].provenance is Provenance.ASSUMED  # = location, not given


def test_site_flags_resolved_through_accounting_are_given(tmp_path: Path) -> None:
    ctx = resolve_estimate_context({"pue": 1.3, "intensity_g_per_kwh": 50.0, "price_per_kwh": 0.3,
                                    "currency": "EUR"}, {}, ())  # fmt: skip
    assert ctx.pue.provenance is Provenance.GIVEN and "given by you" in ctx.pue.source
    assert ctx.intensity_location_g_per_kwh.provenance is Provenance.GIVEN
    assert ctx.price_per_kwh.provenance is Provenance.GIVEN and ctx.currency == "EUR"
    named = resolve_estimate_context({"country": "FR"}, {}, ())
    assert named.intensity_location_g_per_kwh.provenance is Provenance.ESTIMATED  # a table's


def _cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="wattwise")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([*argv, "--json"])
    assert args.handler(args) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_cli_power_w_and_method_read_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    d = _cli_json(["estimate", "finetune", "--hardware", "A100", "--params", "7B", "--tokens",
                   "100M", "--method", "lora", "--power-w", "200", "--pue", "1.1"],
                  capsys)  # fmt: skip
    by = {a["name"]: a for a in d["assumptions"]}
    for name in ("power_per_chip", "finetune_method", "pue"):
        assert by[name]["provenance"] == "given", name
    assert "measured" not in {a["provenance"] for a in d["assumptions"]}


def test_cli_defaults_not_given_stay_assumed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``--method`` / ``--batch-size``: the defaults are ``assumed``, not "given by you"."""
    monkeypatch.chdir(tmp_path)
    ft = _cli_json(["estimate", "finetune", "--hardware", "A100", "--params", "7B", "--tokens",
                    "100M"], capsys)  # fmt: skip
    method = next(a for a in ft["assumptions"] if a["name"] == "finetune_method")
    assert (method["value"], method["provenance"]) == ("lora", "assumed")
    inf = _cli_json(["estimate", "infer", "--hardware", "H100", "--params", "8B",
                     "--input-tokens", "100", "--output-tokens", "100"], capsys)  # fmt: skip
    batch = next(a for a in inf["assumptions"] if a["name"] == "batch_size")
    assert batch["provenance"] == "assumed"
    given = _cli_json(["estimate", "infer", "--hardware", "H100", "--params", "8B",
                       "--input-tokens", "100", "--output-tokens", "100", "--batch-size", "16"],
                      capsys)  # fmt: skip
    assert next(a for a in given["assumptions"] if a["name"] == "batch_size")["provenance"] == (
        "given"
    )

"""``wattwise estimate ...`` through the parser the estimator registers, and its handlers."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from wattwise.cli.estimate import quantity, register


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from wattwise.cli import Parser

    parser = Parser(prog="wattwise")
    register(parser.add_subparsers(dest="command", parser_class=Parser))
    try:
        args = parser.parse_args(argv)  # numeric flags are checked here: one line, exit 2
        code = args.handler(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_quantity_accepts_si_suffixes() -> None:
    assert quantity("7B") == 7e9
    assert quantity("1.4T") == 1.4e12
    assert quantity("500M") == 5e8
    assert quantity("2_000") == 2000.0
    with pytest.raises(argparse.ArgumentTypeError):
        quantity("seven")


def test_train_json_has_every_key_as_a_band(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(["estimate", "train", "--hardware", "A100", "--params", "7B", "--tokens", "1T",
               "--chips", "256", "--pue", "1.1", "--grid-intensity", "385",
               "--price", "0.12"], capsys)  # fmt: skip
    for key in ("chip_hours", "wall_clock_days", "it_energy_kwh", "facility_energy_kwh",
                "co2e_location_kg", "co2e_market_kg", "cost", "embodied_co2e_kg"):  # fmt: skip
        assert d[key]["low"] <= d[key]["value"] <= d[key]["high"]
    pue = next(a for a in d["assumptions"] if a["name"] == "pue")
    assert pue["value"] == "1.1" and pue["provenance"] == "given"
    loc = d["co2e_location_kg"]["value"]
    assert loc == pytest.approx(d["facility_energy_kwh"]["value"] * 0.385, rel=1e-4)


def test_train_with_a_country_uses_the_accounting_tables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["estimate", "train", "--hardware", "H100", "--chip-hours", "1000", "--pue", "1.2"]
    fr = _json([*base, "--country", "FR"], capsys)
    default = _json(base, capsys)
    assert fr["co2e_location_kg"]["value"] < default["co2e_location_kg"]["value"] / 3
    grid = next(a for a in fr["assumptions"] if a["name"] == "grid_intensity_location")
    assert grid["provenance"] == "estimated"


def test_finetune_and_infer(capsys: pytest.CaptureFixture[str]) -> None:
    ft = _json(["estimate", "finetune", "--hardware", "H100", "--params", "8B", "--tokens",
                "100M", "--method", "qlora", "--chips", "1"], capsys)  # fmt: skip
    assert 0.9 < ft["transfer_saving_fraction"]["value"] < 1.0
    inf = _json(["estimate", "infer", "--hardware", "H100", "--params", "8B", "--input-tokens",
                 "1000", "--output-tokens", "500", "--requests-per-day", "1M",
                 "--batch-size", "32", "--training-tokens", "15T"], capsys)  # fmt: skip
    for key in ("wh_per_request", "wh_per_1k_output_tokens"):
        assert set(inf[key]) == {"accelerators", "node", "facility"}
        for band in inf[key].values():
            assert band["low"] <= band["value"] <= band["high"]
    for period in ("daily", "yearly"):
        assert {"energy_kwh", "co2e_location_kg", "cost"} <= set(inf[period])
    assert isinstance(inf["breakeven_day"], int) and inf["breakeven_day"] > 0


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["estimate", "infer", "--hardware", "L4", "--params", "1B",
                         "--input-tokens", "100", "--output-tokens", "100"], capsys)  # fmt: skip
    assert code == 0
    assert "wh_per_request [facility]" in out and "assumptions:" in out


def test_hardware_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["estimate", "hardware", "list"], capsys)
    assert code == 0 and "H100 SXM5 80GB" in out and "TPU v5p" in out
    shown = _json(["estimate", "hardware", "show", "a100-80gb"], capsys)
    assert shown["name"] == "A100 SXM4 80GB"
    assert shown["peak_tflops_dense"]["bf16"] == 312


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--hardware", "H10O", "--chip-hours", "5"], "closest: H100"),
        (["hardware", "show", "H10O"], "closest: H100"),
        (["train", "--hardware", "H100", "--params=-7B", "--tokens", "1T"], "params"),
        (["train", "--hardware", "H100", "--params", "7B", "--tokens", "0"], "tokens"),
        (
            ["train", "--hardware", "H100", "--params", "7B", "--tokens", "1T", "--mfu", "1.5"],
            "--mfu",
        ),
        (
            ["train", "--hardware", "H100", "--params", "7B", "--tokens", "1T", "--flops", "1e20"],
            "inconsistent",
        ),
        (
            [
                "infer",
                "--hardware",
                "H100",
                "--params",
                "8B",
                "--input-tokens=-5",
                "--output-tokens",
                "10",
            ],
            "--input-tokens",
        ),
        (["train", "--hardware", "H100", "--chip-hours", "5", "--pue", "0.5"], "--pue"),
        (["train", "--hardware", "H100", "--chip-hours", "5", "--power-w", "1e9"], "--power-w"),
        (["train", "--hardware", "H100", "--chip-hours", "5", "--chips", "1e30"], "--chips"),
        (["finetune", "--hardware", "H100", "--tokens", "1M"], "--params"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["estimate", *argv], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err
    assert "Traceback" not in err

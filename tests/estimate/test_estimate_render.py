"""The estimate CLI's human output is for people (issue 11 B6: ``1.09e+03 kWh`` and
``2.21e+03 tokens/s`` beside ``14,425``): SI prefixes and grouped digits, never e-notation;
``--json`` keeps the raw numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from wattwise.cli import Parser
from wattwise.cli.estimate import register
from wattwise.cli.estimate_render import (
    format_assumption_value,
    format_band,
    format_count,
    format_flops,
)
from wattwise.estimate import estimate_inference, estimate_training

E_NOTATION = re.compile(r"\d[eE][-+]?\d")
GROUPED = r"\d{1,3}(?:,\d{3})+"

# Big enough that the old output was full of e-notation (4.2e+22 FLOP, 1.613e+04 kg, ...).
TRAIN = ["train", "--hardware", "A100", "--params", "70B", "--tokens", "2T", "--chips", "2048"]
FINETUNE = ["finetune", "--hardware", "H100", "--params", "8B", "--tokens", "100M", "--method",
            "qlora", "--chips", "1"]  # fmt: skip
INFER = ["infer", "--hardware", "H100", "--params", "8B", "--input-tokens", "1000",
         "--output-tokens", "500", "--requests-per-day", "100M", "--batch-size", "64",
         "--training-tokens", "15T", "--always-on"]  # fmt: skip


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


@pytest.mark.parametrize("argv", [TRAIN, FINETUNE, INFER], ids=["train", "finetune", "infer"])
def test_human_output_has_no_e_notation(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(argv, capsys)
    assert not E_NOTATION.search(out), E_NOTATION.findall(out)
    assert "assumptions:" in out


def test_human_output_uses_si_prefixes_and_grouped_digits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    train = _run(TRAIN, capsys)
    assert re.search(r"facility_energy_kwh\s+\d[\d.]* (GWh|MWh)", train)
    assert re.search(r"co2e_location_kg\s+\d[\d.]* (kt|t)\b", train)
    assert re.search(rf"chip_hours\s+{GROUPED} chip-hours", train)
    assert re.search(r"flops\s+\d[\d.]* ZFLOP", train)
    infer = _run(INFER, capsys)
    assert re.search(rf"decode_tokens_per_s\s+{GROUPED} tokens/s", infer)
    assert re.search(r"yearly energy_kwh\s+\d[\d.]* (GWh|MWh)", infer)


def test_every_money_figure_carries_its_currency(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([*TRAIN, "--country", "US"], [*INFER, "--price", "0.2", "--currency", "EUR"]):
        out = _run(argv, capsys)
        costs = [line for line in out.splitlines() if re.match(r"\s+(\w+ )?cost\b", line)]
        assert costs
        currency = "EUR" if "EUR" in argv else "USD"
        for line in costs:
            assert re.search(rf"\d {currency}\b", line), line


def test_json_keeps_the_raw_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    data: dict[str, Any] = json.loads(_run([*TRAIN, "--json"], capsys))
    api = estimate_training(hardware="A100", params=70e9, tokens=2e12, chips=2048).to_dict()
    assert data["facility_energy_kwh"] == api["facility_energy_kwh"]
    assert isinstance(data["flops"]["value"], float) and data["flops"]["value"] == 6 * 70e9 * 2e12


def test_the_formatters() -> None:
    assert format_flops(4.2e22) == "42 ZFLOP"
    assert format_flops(9.894e14, "FLOP/s") == "989 TFLOP/s"
    assert format_count(1.4e12) == "1.4T" and format_count(7e9) == "7B"
    assert format_count(500_000) == "500,000"
    assert format_assumption_value("4.2e+22", "FLOP") == "42 ZFLOP"
    assert format_assumption_value("9.894e+14", "FLOP/s dense bf16") == "989 TFLOP/s dense bf16"
    assert format_assumption_value("1.311e+05", "bytes") == "131 kB"
    assert format_assumption_value("1.4e+11", "tokens") == "140B tokens"
    assert format_assumption_value("3.552e+06", "h") == "3,552,000 h"
    assert format_assumption_value("0.4 (0.28-0.55)", "ratio") == "0.4 (0.28-0.55) ratio"
    assert format_assumption_value("lora", "") == "lora"
    assert format_assumption_value("about 1.5e+03 of them", "") == "about 1,500 of them"
    band = {"value": 1.09e6, "low": 8.2e5, "high": 1.5e6}
    assert format_band(band, lambda v: f"{v / 1e6:g} MWh") == "1.09 MWh  (0.82 – 1.5)"
    assert format_band({"value": 2.0, "low": 2.0, "high": 2.0}, str) == "2.0"


def test_per_request_energy_is_in_watt_hours_with_a_prefix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run(INFER, capsys)
    est = estimate_inference(hardware="H100", params=8e9, input_tokens=1000, output_tokens=500,
                             requests_per_day=1e8, batch_size=64, always_on=True)  # fmt: skip
    wh = est.wh_per_request["facility"].value
    assert wh < 1  # well under a watt-hour: shown in mWh, not as 0.0xyz Wh or e-notation
    assert re.search(r"wh_per_request \[facility\]\s+\d[\d.]* mWh", out)


def test_hardware_list_and_show_are_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    listing = _run(["hardware", "list"], capsys)
    assert "H100 SXM5 80GB" in listing and not E_NOTATION.search(listing)
    shown = _run(["hardware", "show", "H100"], capsys)
    assert not E_NOTATION.search(shown)
    assert "['" not in shown and "{'" not in shown  # no Python reprs of lists and dicts
    assert re.search(r"peak_tflops_dense\s+fp32 67, ", shown)

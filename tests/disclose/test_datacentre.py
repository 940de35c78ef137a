"""``wattwise disclose datacentre``: PUE, REF, ERF, WUE (ISO/IEC 30134) by hand; inconsistent
inputs one line, exit code 2."""

from __future__ import annotations

import json

import pytest

from disclose.conftest import Cli
from wattwise.errors import ConfigError
from wattwise.report.disclosures.datacentre import datacentre_kpis


def test_kpis_by_hand() -> None:
    k = datacentre_kpis(1_000_000, 1_300_000, 650_000, 100_000, 1_800)
    assert k.pue == pytest.approx(1.3)  # 1.3 GWh / 1 GWh
    assert k.ref == pytest.approx(0.5)  # 650 MWh / 1.3 GWh
    assert k.erf == pytest.approx(100_000 / 1_300_000)
    assert k.wue_l_per_kwh == pytest.approx(1.8)  # 1,800 m3 = 1.8e6 L / 1e6 kWh
    only = datacentre_kpis(10, 10)
    assert only.pue == 1.0 and only.ref is None and only.wue_l_per_kwh is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((2.0, 1.0), "above facility energy"),
        ((1.0, 2.0, 3.0), "renewable energy 3"),
        ((1.0, 2.0, None, 2.5), "reused energy 2.5"),
        ((0.0, 2.0), "above 0"),
    ],
)
def test_inconsistent_inputs_refused(args: tuple[float, ...], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        datacentre_kpis(*args)  # type: ignore[arg-type]


def test_cli_text_json_and_one_line_error(cli: Cli) -> None:
    base = ("disclose", "datacentre", "--it-kwh", "1M", "--facility-kwh", "1.3M")
    code, out, err = cli(*base, "--water-m3", "1800")
    assert code == 0, err
    assert "PUE  1.3" in out and "ISO/IEC 30134-2" in out and "WUE  1.8 L/kWh" in out
    assert "REF  not given" in out and "note:" in out
    code, out, err = cli(*base, "--renewable-kwh", "650k", "--format", "json")
    doc = json.loads(out)
    assert doc["ref"] == pytest.approx(0.5) and doc["erf"] is None and doc["uncertain"]
    code, out, err = cli("disclose", "datacentre", "--it-kwh", "2e6", "--facility-kwh", "1.3e6")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "inconsistent inputs" in err

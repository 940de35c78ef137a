"""The meter both callbacks share, without a framework: context, counts, metrics, batch shapes."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from cli.clirun import cli_env
from integrations.conftest import fake_device
from wattwise.errors import ConfigError, UnknownKeyError
from wattwise.integrations.training import TrainingMeter, batch_units, training_context


def test_context_is_flags_then_environment_then_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wattwise.toml").write_text('country = "SE"\npue = 1.1\n', encoding="utf-8")
    ctx = training_context(None)
    assert (ctx.country, ctx.pue) == ("SE", 1.1)
    monkeypatch.setenv("WATTWISE_COUNTRY", "DE")
    ctx = training_context(None)
    assert (ctx.country, ctx.origin("country"), ctx.pue) == ("DE", "WATTWISE_COUNTRY", 1.1)
    ctx = training_context({"country": "FR"})
    assert (ctx.country, ctx.origin("country")) == ("FR", "--country")
    with pytest.raises(UnknownKeyError):
        TrainingMeter(context={"country": "Atlantis"}, store=False)
    with pytest.raises(ConfigError, match="sync="):
        TrainingMeter(sync="cuda", store=False)


def test_a_run_counts_and_reports_live_metrics(caplog: pytest.LogCaptureFixture) -> None:
    meter = TrainingMeter(store=False, context={"country": "FR", "pue": 1.5},
                          readers=[fake_device()], interval_s=0.01)  # fmt: skip
    assert meter.metrics() == {} and meter.forecast() is None
    with caplog.at_level(logging.WARNING, logger="wattwise"):
        meter.begin("fit", total_steps=10)
    assert not caplog.records  # a location was given: nothing assumed, nothing to say
    meter.open("train")
    for i in range(3):
        time.sleep(0.02)
        if i < 2:
            meter.add_batch(4, 64)  # kept until the next hand-over (here: metrics())
        else:
            meter.count(samples=4, tokens=64, images="3")  # at once; a bad value is a note
        meter.step()
    m = meter.metrics()
    assert m["j_per_token"] == pytest.approx(m["energy_j"] / 192)
    # co2e = IT energy x PUE 1.5 x France's grid (gCO2e/kWh), as the footprint computes it.
    intensity = meter.site.intensity_location_g_per_kwh.value
    assert m["co2e_g"] == pytest.approx(m["energy_j"] / 3.6e6 * 1.5 * intensity)
    assert m["forecast_energy_j"] > m["energy_j"] > 0 and m["forecast_remaining_s"] > 0
    res = meter.end()
    assert res is not None and res.counts == {"samples": 12, "tokens": 192, "steps": 3}
    assert [w.name for w in res.windows] == ["train"]
    assert res.windows[0].counts == {"samples": 12, "tokens": 192}
    assert any("count(images='3') ignored" in n for n in res.notes)
    assert meter.end() is res and meter.metrics() == {}  # ended once; nothing after


def test_a_fit_begun_over_an_unfinished_one_ends_it_first() -> None:
    meter = TrainingMeter(store=False, readers=[fake_device()])
    meter.begin("first")
    meter.begin("eval", standalone=True)  # inside a run: nothing
    meter.begin("second")
    first = meter.result
    assert first is not None and first.name == "first" and first.status == "interrupted"
    assert any("still going when the next fit began" in n for n in first.notes)
    assert meter.end() is not None and meter.result is not None
    assert meter.result.name == "second"


def test_a_ledger_that_cannot_open_leaves_the_run_in_memory(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("x", encoding="utf-8")
    meter = TrainingMeter(store=str(tmp_path / "not-a-dir" / "runs.db"), readers=[fake_device()])
    meter.begin("fit")
    res = meter.end()
    assert res is not None and res.status == "finished"
    assert any(n.startswith("ledger not used:") for n in res.notes)


@pytest.mark.parametrize(
    ("batch", "units"),
    [
        ({"input_ids": SimpleNamespace(shape=(4, 16)), "labels": None}, (4, 64)),
        ({"input_ids": SimpleNamespace(shape=(16,))}, (1, 16)),
        ({"pixel_values": SimpleNamespace(shape=(8, 3, 32, 32))}, (8, 0)),
        ((SimpleNamespace(shape=(5, 10)), SimpleNamespace(shape=(5,))), (5, 0)),
        (SimpleNamespace(shape=(3, 7)), (3, 0)),
        ({"text": ["a", "b"]}, (0, 0)),
        (None, (0, 0)),
    ],
)
def test_batch_units_read_shapes_only(batch: object, units: tuple[int, int]) -> None:
    assert batch_units(batch) == units


def test_importing_the_integrations_core_imports_no_framework() -> None:
    code = (
        "import sys, wattwise, wattwise.integrations, wattwise.integrations.training\n"
        "print(sorted(m for m in ('torch', 'transformers', 'lightning') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=cli_env()
    )
    assert out.stdout.strip() == "[]"

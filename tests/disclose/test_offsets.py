"""Offsets (``--offsets-kg``, env, config, ``wattwise run``): recorded, reported on their own line,
never subtracted from location- or market-based emissions, and shown in every disclosure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from disclose.conftest import Cli
from disclose.fixedrun import CONTEXT, RUN_ID, fixed_run, store
from wattwise.accounting import Context, resolve_context
from wattwise.accounting.runs import footprint_of
from wattwise.errors import ConfigError

EMISSION_FIELDS = ("co2e_location_g", "co2e_market_g", "embodied_co2e_g", "facility_energy_kwh")


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e9, allow_nan=False))
def test_offsets_never_change_an_emission_figure(offsets_kg: float) -> None:
    base = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    with_offsets = footprint_of(fixed_run(), Context(**CONTEXT, offsets_kg=offsets_kg))  # type: ignore[arg-type]
    for name in EMISSION_FIELDS:
        assert getattr(with_offsets, name) == getattr(base, name)
    assert with_offsets.sci_g_per_unit == base.sci_g_per_unit  # SCI excludes offsets
    assert with_offsets.offsets_kg == offsets_kg
    assert with_offsets.to_dict()["offsets_kg"] == offsets_kg
    assert with_offsets.assumption("offsets").value == offsets_kg


def test_flag_env_config_and_range(tmp_path: Path) -> None:
    cfg = tmp_path / "wattwise.toml"
    cfg.write_text("offsets_kg = 12.5\n")
    assert resolve_context({}, {}, [cfg]).offsets_kg == 12.5
    assert resolve_context({}, {"WATTWISE_OFFSETS_KG": "3"}, [cfg]).offsets_kg == 3.0
    assert resolve_context({"offsets-kg": 1.0}, {"WATTWISE_OFFSETS_KG": "3"}).offsets_kg == 1.0
    with pytest.raises(ConfigError, match="never netted"):
        resolve_context({}, {"WATTWISE_OFFSETS_KG": "-2"})


def test_every_disclosure_shows_offsets_and_same_emissions(ledger_db: Path, cli: Cli) -> None:
    db = ("--db", str(ledger_db))
    _, plain, _ = cli("disclose", "ai-act", RUN_ID, "--format", "json", *db)
    code, text, err = cli(
        "disclose", "ai-act", RUN_ID, "--format", "json", "--offsets-kg", "40", *db
    )
    assert code == 0, err
    doc, base = json.loads(text), json.loads(plain)
    assert doc["offsets"]["t_co2e"] == pytest.approx(0.04) and base["offsets"]["t_co2e"] is None
    for k in ("co2e_location_t", "co2e_market_t", "embodied_co2e_t"):
        assert doc["training"][k] == base["training"][k]
    _, md, _ = cli("disclose", "ai-act", RUN_ID, "--offsets-kg", "40", *db)
    assert "Offsets: 0.04 t CO2e" in md and "never subtracted" in md
    _, card, _ = cli("disclose", "model-card", RUN_ID, "--offsets-kg", "40", *db)
    _, card0, _ = cli("disclose", "model-card", RUN_ID, *db)
    assert "# offsets: 40 kgCO2e declared" in card and "NOT subtracted" in card
    assert yaml.safe_load(card) == yaml.safe_load(card0)  # the same metadata: comments differ
    _, bo, _ = cli("disclose", "boamps", RUN_ID, "--offsets-kg", "40", *db)
    ext = json.loads(bo)["x-wattwise"]
    assert ext["offsets_kg"] == 40 and ext["co2e_location_g"] == pytest.approx(
        base["training"]["co2e_location_t"] * 1e6
    )
    _, man, _ = cli("disclose", "impact-framework", RUN_ID, "--offsets-kg", "40", *db)
    assert "40 kgCO2e declared" in yaml.safe_load(man)["description"]


def test_run_records_offsets_and_shows_them_on_their_own_line(tmp_path: Path, cli: Cli) -> None:
    db = str(tmp_path / "l.db")
    code, _, err = cli("run", "--db", db, "--offsets-kg", "7", "--country", "FR", "--", "true")
    assert code == 0, err
    line = next(x for x in err.splitlines() if "offsets:" in x)
    assert "7 kg CO2e declared" in line and "not subtracted" in line
    code, out, err = cli("runs", "list", "--json", "--db", db)
    run_id = json.loads(out)[0]["run_id"]
    code, text, err = cli("disclose", "ai-act", run_id, "--format", "json", "--db", db)
    assert code == 0, err
    assert json.loads(text)["offsets"]["t_co2e"] == pytest.approx(0.007)  # stored with the run


def test_several_runs_add_offsets_separately(tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "two.db"
    store(db, {**CONTEXT, "offsets_kg": 1.5}, run_id="c" * 32)
    store(db, {**CONTEXT, "offsets_kg": 2.5}, run_id="d" * 32)
    code, text, err = cli(
        "disclose", "ai-act", "c" * 6, "d" * 6, "--format", "json", "--db", str(db)
    )
    assert code == 0, err
    doc = json.loads(text)
    assert doc["offsets"]["t_co2e"] == pytest.approx(0.004)
    assert [w["offsets_t"] for w in doc["works"]] == [pytest.approx(0.0015), pytest.approx(0.0025)]

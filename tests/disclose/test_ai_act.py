"""``wattwise disclose ai-act``: the EU AI Act Annex XI energy section of stored runs or an
estimate, as Markdown or JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from disclose.conftest import Cli
from disclose.fixedrun import RUN_ID, store
from disclose.golden import check_golden
from wattwise.accounting import Context
from wattwise.accounting.runs import footprint_of
from wattwise.report.disclosures.aiact import ai_act_document


def test_markdown_and_json_golden(ledger_db: Path, cli: Cli) -> None:
    code, md, err = cli("disclose", "ai-act", RUN_ID[:8], "--db", str(ledger_db))
    assert code == 0, err
    check_golden("ai-act.md", md)
    code, text, err = cli("disclose", "ai-act", RUN_ID, "--format", "json", "--db", str(ledger_db))
    assert code == 0, err
    check_golden("ai-act.json", text)


def test_json_figures_are_the_runs_footprint(ledger_db: Path, cli: Cli) -> None:
    from disclose.fixedrun import CONTEXT, fixed_run

    code, text, err = cli("disclose", "ai-act", RUN_ID, "--format", "json", "--db", str(ledger_db))
    assert code == 0, err
    doc = json.loads(text)
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    tr = doc["training"]
    assert tr["energy_it_mwh"] == pytest.approx(5.5e-3)
    assert tr["energy_facility_mwh"] == pytest.approx(fp.facility_energy_kwh / 1000)
    assert tr["co2e_location_t"] == pytest.approx(fp.co2e_location_g / 1e6)
    assert tr["co2e_market_t"] == pytest.approx(fp.co2e_market_g / 1e6)
    assert tr["co2e_market_t"] < tr["co2e_location_t"]  # the 30 % contract
    assert tr["compute_flop"] is None and "not counted" in tr["compute_note"]
    assert tr["training_time_h"] == pytest.approx(1.0)
    inf = doc["inference"][0]
    # serve window: 1/6 of 19.8 MJ over 1,000 requests = 3,300 J = 0.9167 Wh per request
    assert inf["it_energy_per_request_wh"] == pytest.approx(3300 / 3600)
    assert doc["not_covered"] and doc["uncertain"]


def test_several_runs_add_up_each_listed(tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "two.db"
    store(db, run_id="a" * 32)
    store(db, run_id="b" * 32)
    code, text, err = cli(
        "disclose",
        "ai-act",
        "a" * 8,
        "b" * 8,
        "--stage",
        "pre-training",
        "--stage",
        "fine-tuning",
        "--format",
        "json",
        "--db",
        str(db),
    )
    assert code == 0, err
    doc = json.loads(text)
    assert [w["stage"] for w in doc["works"]] == ["pre-training", "fine-tuning"]
    one = doc["works"][0]
    assert doc["training"]["energy_facility_mwh"] == pytest.approx(2 * one["facility_energy_mwh"])
    assert doc["training"]["works_counted"] == 2


def test_estimate_file_gives_compute_and_estimated(tmp_path: Path, cli: Cli) -> None:
    est = tmp_path / "est.json"
    code, text, err = cli(
        "estimate",
        "train",
        "--hardware",
        "H100",
        "--params",
        "7B",
        "--tokens",
        "1T",
        "--country",
        "FR",
        "--json",
    )
    assert code == 0, err
    est.write_text(text)
    e = json.loads(text)
    code, md, err = cli("disclose", "ai-act", "--estimate", str(est))
    assert code == 0, err
    assert "estimated" in md and "FLOP" in md
    code, text, err = cli("disclose", "ai-act", "--estimate", str(est), "--format", "json")
    tr = json.loads(text)["training"]
    assert tr["energy_known_or_estimated"] == "estimated"
    assert tr["compute_flop"] == pytest.approx(e["flops"]["value"])
    assert tr["energy_facility_mwh"] == pytest.approx(e["facility_energy_kwh"]["value"] / 1000)
    assert tr["co2e_location_t"] == pytest.approx(e["co2e_location_kg"]["value"] / 1000)
    assert math.isclose(tr["training_time_h"], e["wall_clock_days"]["value"] * 24)


def test_bad_input_is_one_line_exit_2(tmp_path: Path, ledger_db: Path, cli: Cli) -> None:
    code, _, err = cli("disclose", "ai-act")
    assert code == 2 and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "infer"}')
    code, _, err = cli("disclose", "ai-act", "--estimate", str(bad))
    assert code == 2 and "estimate train" in err and len(err.strip().splitlines()) == 1
    code, _out, err = cli(
        "disclose",
        "ai-act",
        RUN_ID,
        RUN_ID,
        "--stage",
        "inference",
        "--stage",
        "other",
        "--stage",
        "other",
        "--db",
        str(ledger_db),
    )
    assert code == 2 and "--stage" in err


def test_document_is_pure(ledger_db: Path) -> None:
    from disclose.fixedrun import CONTEXT, fixed_run
    from wattwise.report.disclosures.subject import work_of_run

    w = work_of_run(
        fixed_run(),
        footprint_of(fixed_run(), Context(**CONTEXT)),  # type: ignore[arg-type]
        stage="inference",
    )
    doc = ai_act_document([w])
    assert doc["training"] is None  # inference only: nothing counted as training
    assert doc["inference"][0]["name"] == "finetune-llama"

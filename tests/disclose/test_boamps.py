"""``wattwise disclose boamps``: a BoAmps report validated by jsonschema against the schema its
authors publish (vendored with its licence and source)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from disclose.conftest import Cli
from disclose.fixedrun import CONTEXT, RUN_ID, fixed_run
from disclose.golden import check_golden
from wattwise.accounting import Context
from wattwise.accounting.runs import footprint_of
from wattwise.report.disclosures.boamps import SCHEMA_DIR, boamps_report, validation_errors
from wattwise.report.disclosures.subject import work_of_run

pytest.importorskip("jsonschema")


def _report(**kw: object) -> dict[str, object]:
    ctx = Context(**CONTEXT)  # type: ignore[arg-type]
    w = work_of_run(fixed_run(), footprint_of(fixed_run(), ctx), ctx=ctx, stage="inference")
    return boamps_report(
        w,
        report_id="00000000-0000-4000-8000-000000000000",
        report_datetime="2026-12-01 12:00:00",
        **kw,
    )  # type: ignore[arg-type]


def test_golden_and_valid() -> None:
    report = _report(publisher="ACME AI", task_family="chatbot", algorithm="llama")
    check_golden("boamps.json", json.dumps(report, indent=2) + "\n")
    assert validation_errors(report) == []
    assert report["measures"][0]["powerConsumption"] == pytest.approx(5.5)  # type: ignore[index]


def test_cli_report_validates(ledger_db: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "boamps.json"
    code, _, err = cli("disclose", "boamps", RUN_ID[:10], "--db", str(ledger_db), "--out", str(out))
    assert code == 0, err
    report = json.loads(out.read_text())
    assert validation_errors(report) == []
    assert report["header"]["reportDatetime"][4] == "-" and len(report["header"]["reportId"]) == 36
    notes = report["x-wattwise"]["notes"]
    assert any("taskStage not stated" in n for n in notes)  # said, not guessed
    assert report["task"]["taskStage"] == "not stated"
    assert report["x-wattwise"]["co2e_location_g"] > report["x-wattwise"]["co2e_market_g"]


def test_the_validator_catches_schema_breaks() -> None:
    good = _report()
    broken = copy.deepcopy(good)
    del broken["measures"]  # required at the top
    assert any("measures" in e for e in validation_errors(broken))
    broken = copy.deepcopy(good)
    broken["task"]["dataset"][0]["dataUsage"] = "both"  # type: ignore[index]  # $ref'd schema
    assert any("dataset/0/dataUsage" in e for e in validation_errors(broken))
    broken = copy.deepcopy(good)
    del broken["measures"][0]["powerConsumption"]  # type: ignore[index]
    assert any("powerConsumption" in e for e in validation_errors(broken))


def test_schema_vendored_with_licence_and_source() -> None:
    assert "creativecommons.org/licenses/by/4.0" in (SCHEMA_DIR / "LICENSE.md").read_text()
    source = (SCHEMA_DIR / "SOURCE.md").read_text()
    assert "github.com/Boavizta/BoAmps" in source and "3bfefec8446e" in source
    for name in ("report", "algorithm", "dataset", "hardware", "measure"):
        doc = json.loads((SCHEMA_DIR / f"{name}_schema.json").read_text())
        assert doc["$schema"].startswith("http://json-schema.org/draft-04")

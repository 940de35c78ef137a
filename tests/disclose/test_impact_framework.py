"""``wattwise disclose impact-framework``: the real Impact Framework (``if-run``, installed by
.ci/run) computes the exported manifest's SCI, which must equal wattwise's within 1 %."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from disclose.conftest import Cli
from disclose.fixedrun import CONTEXT, RUN_ID, fixed_run
from disclose.golden import check_golden
from integrations.requires import npm_program
from wattwise.accounting import Context
from wattwise.accounting.runs import footprint_of
from wattwise.report.disclosures.impact import IF_VERSION, manifest_yaml
from wattwise.report.disclosures.subject import work_of_run


def _work(offsets_kg: float | None = None):  # type: ignore[no-untyped-def]
    ctx = Context(**CONTEXT)  # type: ignore[arg-type]
    return work_of_run(fixed_run(), footprint_of(fixed_run(), ctx), ctx=ctx, offsets_kg=offsets_kg)


def test_golden_manifest_parses_as_yaml() -> None:
    text = manifest_yaml(_work())
    check_golden("impact-framework.yaml", text)
    doc = yaml.safe_load(text)
    child = doc["tree"]["children"]["run"]
    assert child["pipeline"]["compute"][-1] == "sci"
    assert doc["initialize"]["plugins"]["sci"]["config"]["functional-unit"] == "requests"
    assert child["inputs"][0]["grid/carbon-intensity"] == pytest.approx(44.179)  # France 2024


def test_offsets_are_no_input_of_the_pipeline() -> None:
    doc = yaml.safe_load(manifest_yaml(_work(offsets_kg=5.0)))
    inputs = doc["tree"]["children"]["run"]["inputs"][0]
    assert not any("offset" in k for k in inputs)
    assert "5 kgCO2e declared" in doc["description"] and "never subtracted" in doc["description"]


def test_if_run_reproduces_wattwise_sci(ledger_db: Path, cli: Cli, tmp_path: Path) -> None:
    if_run = npm_program("if-run", f"@grnsft/if@{IF_VERSION}", ".venv/if")
    manifest = tmp_path / "run.yml"
    code, _, err = cli(
        "disclose",
        "impact-framework",
        RUN_ID,
        "--unit",
        "token",
        "--db",
        str(ledger_db),
        "--out",
        str(manifest),
    )
    assert code == 0, err
    done = subprocess.run(
        [if_run, "--manifest", str(manifest), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = yaml.safe_load((tmp_path / "out.yaml").read_text())
    result = out["tree"]["children"]["run"]["outputs"][0]
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    assert result["sci"] == pytest.approx(fp.sci_g_per_unit["token"], rel=0.01)
    assert result["carbon-operational"] == pytest.approx(fp.co2e_location_g, rel=0.01)
    assert result["carbon-embodied"] == pytest.approx(fp.embodied_co2e_g, rel=0.01)
    assert result["energy"] == pytest.approx(fp.facility_energy_kwh, rel=0.01)


def test_unknown_unit_is_one_line(ledger_db: Path, cli: Cli) -> None:
    code, _, err = cli(
        "disclose", "impact-framework", RUN_ID, "--unit", "image", "--db", str(ledger_db)
    )
    assert code == 2 and "request" in err and len(err.strip().splitlines()) == 1

"""The audit with a saved ``wattwise tune`` profile: matched by command fingerprint and GPU
model, measured figures in the power-cap recommendation, the profile plot in the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from report.synthetic import synthetic_doc, synthetic_profile, synthetic_run
from wattwise.accounting import Context
from wattwise.audit.pipeline import AuditOptions, run_audit
from wattwise.audit.power import tuning_profile
from wattwise.power.profiles import fingerprint, save_profile
from wattwise.report.powerrules import cpu_governor, power_cap
from wattwise.report.recommend import POWER_CAP_SAVING
from wattwise.report.tuning import profile_chart

CODE = "import time; time.sleep(0.3)"


def _save(env: dict[str, str], command: list[str], **kw: Any) -> dict[str, Any]:
    p = {k: v for k, v in synthetic_profile().items() if k != "gpu_measured"}
    p.update({"fingerprint": fingerprint(command), "simulated": False, **kw})
    save_profile(p, env)
    return p


def test_profile_matched_by_fingerprint_model_and_not_simulated(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    cmd = ["python", "train.py"]
    _save(env, cmd, gpu_model="NVIDIA H100 80GB HBM3", simulated=True)
    assert tuning_profile(cmd, [], env) is None  # simulated: never used
    _save(env, cmd, created_at="2026-01-01T00:00:00Z")
    assert tuning_profile(["python", "other.py"], [], env) is None
    assert tuning_profile(cmd, ["NVIDIA H100 80GB HBM3"], env) is None  # another model
    found = tuning_profile(cmd, ["NVIDIA A100-SXM4-80GB"], env)
    assert found is not None and found["gpu_measured"] and found["energy_saving"] == 0.2
    unmeasured = tuning_profile(cmd, [], env)
    assert unmeasured is not None and not unmeasured["gpu_measured"]


def test_power_cap_uses_the_measured_figures() -> None:
    run = synthetic_run()
    doc = synthetic_doc(run, Context(country="DE"))
    measured = power_cap(doc)  # type: ignore[arg-type]
    assert measured is not None and measured.provenance == "measured"
    assert "measured by wattwise tune on NVIDIA A100-SXM4-80GB, 2026-11-30" in measured.evidence
    assert "300 W" in measured.action and "0.5%" in measured.cost
    gpu = sum(c.energy_j for c in run.components if c.kind == "gpu") / run.energy.total_j
    assert measured.effect is not None
    assert measured.effect.it_factor == pytest.approx(1 - (gpu * 0.2 - (1 - gpu) * 0.005))
    published = power_cap({**doc, "power_profile": None})  # type: ignore[arg-type]
    assert published is not None and published.effect is not None
    assert published.effect.it_factor == pytest.approx(1 - gpu * POWER_CAP_SAVING)
    gov = cpu_governor(doc)  # type: ignore[arg-type]
    assert gov is not None and gov.saving_kwh_per_year is None and "intel_pstate" in gov.evidence


def test_profile_chart_has_both_panels_and_marks() -> None:
    svg = profile_chart(synthetic_profile())
    assert svg.count("<polyline") == 2 and "energy per step (J)" in svg
    assert "time per step (ms)" in svg and svg.count("data-role='default'") == 2
    assert "no setting was measured" in profile_chart({"settings": []})


def test_audit_of_a_command_with_a_saved_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real audit (no GPU here): the profile's figures are quoted, no yearly saving is
    claimed for a GPU the audit did not measure, and the report has the profile plot."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    command = [sys.executable, "-c", CODE]
    _save({"XDG_CACHE_HOME": str(tmp_path / "cache")}, command)
    out = run_audit(
        AuditOptions(out=tmp_path / "r.html", command=command, lab=False,
                     db=str(tmp_path / "l.db"), quiet_stdout=True),
        Context(country="DE"), lambda line: None,
    )  # fmt: skip
    assert out.doc["power_profile"] is not None
    assert out.doc["power_profile"]["gpu_model"] == "NVIDIA A100-SXM4-80GB"
    assert isinstance(out.doc["cpufreq"]["summary"], list)
    (cap,) = [r for r in out.doc["recommendations"] if r["rule"] == "power-cap"]
    assert "measured by wattwise tune on NVIDIA A100-SXM4-80GB" in cap["evidence"]
    assert cap["saving_kwh_per_year"] is None and "no yearly saving" in cap["evidence"]
    html = out.html_path.read_text(encoding="utf-8")
    assert "id='plot-tuning'" in html and 'data-chart="tuning"' in html

"""``wattwise audit`` end to end on a tiny budget: the report's content against the ledger."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from audit.conftest import HAS_TORCH, TinyAudit
from cli.clirun import wattwise
from wattwise.ledger import Ledger


def _run_id(stderr: str) -> str:
    m = re.search(r"run ([0-9a-f]{12})", stderr)
    assert m, stderr
    return m.group(1)


def _card(html: str, metric: str) -> float:
    m = re.search(rf"data-metric=[\"']{metric}[\"'] data-value='([^']+)'", html)
    assert m, f"no headline card {metric}"
    return float(m.group(1))


def test_audit_writes_report_matching_the_ledger(tiny_audit: TinyAudit) -> None:
    assert tiny_audit.returncode == 0, tiny_audit.stderr
    assert f"report: {tiny_audit.html.resolve()}" in tiny_audit.stderr  # end summary
    assert "[1/5]" in tiny_audit.stderr and "[5/5]" in tiny_audit.stderr  # progress
    html = tiny_audit.html.read_text()
    with Ledger.open(str(tiny_audit.db)) as ledger:
        run = ledger.get_run(_run_id(tiny_audit.stderr))
        extra = ledger.get_extra(run.run_id)
    fp = extra["footprint"]
    assert extra["audit"]["run_id"] == run.run_id
    assert _card(html, "it_energy_j") == float(f"{run.energy.total_j:.9g}")
    assert _card(html, "co2e_location_g") == float(f"{fp['co2e_location_g']:.9g}")
    assert _card(html, "facility_energy_kwh") == float(f"{fp['facility_energy_kwh']:.9g}")
    gen = next(w for w in run.windows if w.name == "generate")
    per_request = gen.energy.total_j / gen.counts["requests"]
    assert _card(html, "it_j_per_unit") == float(f"{per_request:.9g}")
    year_kwh = per_request * 50_000 * 365.25 / 3.6e6 * fp["pue"]
    assert math.isclose(_card(html, "year_facility_kwh"), year_kwh, rel_tol=1e-8)
    assert {w.name for w in run.windows} >= {"finetune", "generate"}
    assert gen.counts["tokens"] > 0 and run.status == "finished"
    # every plot is there, as inline SVG
    for fig, kind in (
        ("plot-timeline", "line"),
        ("plot-breakdown", "stacked"),
        ("plot-regions", "bar"),
        ("plot-pareto", "scatter"),
    ):
        chart = r"(?:<div class='chart'>)?"  # the phone layout's scroll container
        m = re.search(rf"<figure id='{fig}'>{chart}<svg [^>]*data-chart=[\"'](\w+)[\"']", html)
        assert m and m.group(1) == kind, fig
    assert html.count("<polyline data-series=") >= 1  # a device's power line
    # self-contained: no script, no stylesheet or image from anywhere
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?:", html)
    # provenance badges and the methodology appendix with every assumption
    assert "data-provenance=" in html and "id='methodology'" in html
    for a in fp["assumptions"]:
        assert a["source"][:40].replace("&", "&amp;").replace("<", "&lt;") in html


def test_recommendations_present_and_ordered_by_saving(tiny_audit: TinyAudit) -> None:
    html = tiny_audit.html.read_text()
    items = re.findall(r"<li class='rec' data-rank='(\d+)' data-rule=[\"']([\w-]+)[\"'] "
                       r"data-saving-kg='([^']*)'", html)  # fmt: skip
    assert len(items) >= 2
    assert [int(r) for r, _, _ in items] == list(range(1, len(items) + 1))
    savings = [float(s) if s else None for _, _, s in items]
    quantified = [s for s in savings if s is not None]
    assert quantified == sorted(quantified, reverse=True)
    first_none = next((i for i, s in enumerate(savings) if s is None), len(savings))
    assert all(s is None for s in savings[first_none:])  # unquantified ones last
    rules = {r for _, r, _ in items}
    # this machine has no location given and no PUE: both rules must fire
    assert "know-pue" in rules and "cleaner-region" in rules


def test_lab_in_report_or_skipped_with_reason(tiny_audit: TinyAudit) -> None:
    html = tiny_audit.html.read_text()
    with Ledger.open(str(tiny_audit.db)) as ledger:
        doc = ledger.get_extra(ledger.resolve_run_id(_run_id(tiny_audit.stderr)))["audit"]
    if HAS_TORCH:
        names = [v["name"] for v in doc["lab"]["variants"]]
        assert names[0] == "baseline" and len(names) >= 2
        for n in names:
            assert f'data-label="{n}"' in html  # a point per variant in the Pareto plot
    else:
        assert doc["lab"] is None and "PyTorch" in doc["lab_note"]
        assert "id='lab-skipped'" in html


def test_report_command_rebuilds_the_same_report(tiny_audit: TinyAudit, tmp_path: Path) -> None:
    run_id = _run_id(tiny_audit.stderr)
    out = tmp_path / "again.html"
    p = wattwise("report", run_id, "--out", str(out), **tiny_audit.env)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == tiny_audit.html.read_text()
    p = wattwise("report", "ffffffff", "--out", str(out), **tiny_audit.env)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1


def test_audit_json_document(tiny_audit: TinyAudit) -> None:
    with Ledger.open(str(tiny_audit.db)) as ledger:
        doc = ledger.get_extra(ledger.resolve_run_id(_run_id(tiny_audit.stderr)))["audit"]
    json.dumps(doc, allow_nan=False)  # strict JSON
    assert doc["scale"]["units_per_day"] == 50_000
    assert doc["workload"]["kind"] == ("builtin" if HAS_TORCH else "demo")

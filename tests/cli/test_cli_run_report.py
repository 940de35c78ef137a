"""``wattwise report RUN_ID`` for any stored run and ``runs export`` with windows, counts and
the footprint (issue 11 B9), as a user runs them: real processes, a real SQLite ledger, the
report measured in real Chromium at 1280 and 390 px."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.clirun import cli_env, one_line_error, wattwise
from report.layout import check_layout, first_page_fill, problems
from wattwise.report.browser import console_errors, find_chromium, screenshot

CHILD = (
    "import time\n"
    "from wattwise.workloads.counts import report_count\n"
    "time.sleep(1.2)\n"
    "report_count(tokens=300, requests=3)\n"
)
API = (
    "import sys, time, wattwise\n"
    "with wattwise.track('api <run> & co', store=sys.argv[1]) as t:\n"
    "    with t.window('train'):\n"
    "        time.sleep(0.8)\n"
    "    with t.window('serve'):\n"
    "        time.sleep(0.6)\n"
    "        t.count(requests=4, tokens=64)\n"
)
ONLY_AUDITS = ("scale", "regions", "optimisation", "whatifs", "recommendations")


def _card(html: str, metric: str) -> float:
    m = re.search(rf"data-metric=\"{metric}\" data-value='([^']+)'", html)
    assert m, f"no card {metric}"
    return float(m.group(1))


def _show(run_id: str, db: Path) -> dict:  # type: ignore[type-arg]
    p = wattwise("runs", "show", run_id, "--json", "--db", str(db))
    assert p.returncode == 0, p.stderr
    doc: dict = json.loads(p.stdout)  # type: ignore[type-arg]
    return doc


def _only_run_id(db: Path) -> str:
    p = wattwise("runs", "list", "--json", "--db", str(db))
    assert p.returncode == 0, p.stderr
    (run,) = json.loads(p.stdout)
    return str(run["run_id"])


def _sections(html: str) -> dict[str, str]:
    return dict(re.findall(r"<section id='([\w-]+)'>(.*?)</section>", html, re.S))


def _assert_report_matches(html: str, shown: dict) -> None:  # type: ignore[type-arg]
    fp = shown["footprint"]
    assert _card(html, "it_energy_j") == float(f"{shown['energy']['total_j']:.9g}")
    assert _card(html, "facility_energy_kwh") == float(f"{fp['facility_energy_kwh']:.9g}")
    assert _card(html, "co2e_location_g") == float(f"{fp['co2e_location_g']:.9g}")
    if fp["cost"]:
        assert _card(html, "cost") == float(f"{fp['cost']['value']:.9g}")
    for unit, j in shown["energy_per"].items():
        assert _card(html, f"it_j_per_{unit.rstrip('s')}") == float(f"{j:.9g}")
    sections = _sections(html)
    assert {"timeline", "breakdown", "sci", "methodology"} <= set(sections)
    assert not set(ONLY_AUDITS) & set(sections)  # nothing an audit alone has
    for name, body in sections.items():  # no empty section
        assert "<table>" in body or "<figure" in body, name
    for a in fp["assumptions"]:
        assert a["source"][:40].replace("&", "&amp;").replace("<", "&lt;") in html
    assert "<script" not in html and not re.search(r"(src|href)\s*=\s*['\"]?https?:", html)


@pytest.fixture(scope="module")
def command_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A ``wattwise run -- python -c ...`` that reports counts, in its own ledger."""
    d = tmp_path_factory.mktemp("cmd")
    db = d / "w.db"
    p = wattwise(
        "run", "--quiet", "--name", "train <b>&", "--country", "DE", "--db", str(db),
        "--", sys.executable, "-c", CHILD,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return db, _only_run_id(db)


def test_report_of_a_plain_run_matches_runs_show(command_run: tuple[Path, str]) -> None:
    db, run_id = command_run
    out = db.parent / "r.html"
    p = wattwise("report", run_id[:8], "--out", str(out), "--db", str(db))
    assert p.returncode == 0, p.stderr
    html = out.read_text("utf-8")
    shown = _show(run_id, db)
    assert shown["counts"] == {"tokens": 300.0, "requests": 3.0}
    _assert_report_matches(html, shown)
    assert "Energy, carbon and cost of a run" in html and "train &lt;b&gt;&amp; — " in html
    assert "<figure id='plot-timeline'><div class='chart'><svg" in html


def test_report_of_a_plain_run_reaccounts_under_flags_as_runs_show(
    command_run: tuple[Path, str],
) -> None:
    db, run_id = command_run
    out = db.parent / "fr.html"
    p = wattwise("report", run_id, "--out", str(out), "--db", str(db), "--country", "FR")
    assert p.returncode == 0, p.stderr
    shown = wattwise("runs", "show", run_id, "--json", "--db", str(db), "--country", "FR")
    _assert_report_matches(out.read_text("utf-8"), json.loads(shown.stdout))


def test_report_of_a_python_api_run_has_its_windows_and_energy_per_unit(
    tmp_path: Path,
) -> None:
    db = tmp_path / "api.db"
    script = tmp_path / "api.py"
    script.write_text(API)
    subprocess.run([sys.executable, str(script), str(db)], check=True, env=cli_env(), timeout=60)
    run_id = _only_run_id(db)
    out = tmp_path / "api.html"
    p = wattwise("report", run_id, "--out", str(out), "--db", str(db))
    assert p.returncode == 0, p.stderr
    html = out.read_text("utf-8")
    shown = _show(run_id, db)
    _assert_report_matches(html, shown)
    serve = next(w for w in shown["windows"] if w["name"] == "serve")
    assert _card(html, "it_j_per_request") == float(f"{serve['energy']['total_j'] / 4:.9g}")
    timeline = _sections(html)["timeline"]
    assert "<td>train</td>" in timeline and "<td>serve</td>" in timeline
    assert "api &lt;run&gt; &amp; co" in html


def test_default_report_file_of_a_plain_run_is_named_run(
    command_run: tuple[Path, str], tmp_path: Path
) -> None:
    db, run_id = command_run
    p = wattwise("report", run_id, "--db", str(db), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / f"wattwise-run-{run_id[:12]}.html").exists()


def test_context_flags_on_an_audits_report_are_refused_in_one_line(tmp_path: Path) -> None:
    from wattwise.ledger import Ledger

    db = tmp_path / "a.db"
    subprocess.run(
        [sys.executable, "-c", API, str(db)], check=True, env=cli_env(), timeout=60
    )
    run_id = _only_run_id(db)
    with Ledger.open(str(db)) as ledger:
        ledger.set_extra(run_id, "audit", {"version": 1, "run_id": run_id})
    p = wattwise("report", run_id, "--country", "FR", "--db", str(db), cwd=tmp_path)
    assert "is an audit" in one_line_error(p)
    assert list(tmp_path.glob("*.html")) == []


@pytest.mark.skipif(find_chromium() is None, reason="no headless Chromium here")
@pytest.mark.parametrize("width", [1280, 390])
def test_plain_run_report_layout_in_chromium(command_run: tuple[Path, str], width: int) -> None:
    db, run_id = command_run
    out = db.parent / f"layout-{width}.html"
    assert wattwise("report", run_id, "--out", str(out), "--db", str(db)).returncode == 0
    result = check_layout(out, width)
    assert problems(result) == [], problems(result)
    assert result["svgs"] >= 2 and result["texts"] > 10


@pytest.mark.skipif(find_chromium() is None, reason="no headless Chromium here")
def test_plain_run_report_prints_to_pdf_and_loads_without_console_errors(
    command_run: tuple[Path, str],
) -> None:
    db, run_id = command_run
    out = db.parent / "pdf.html"
    p = wattwise("report", run_id, "--out", str(out), "--pdf", "--db", str(db))
    assert p.returncode == 0, p.stderr
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF-") and first_page_fill(pdf) > 0.7
    log = screenshot(out, db.parent / "r.png", width=1280, height=1200)
    assert console_errors(log) == []


def test_export_json_has_windows_counts_and_footprint(tmp_path: Path) -> None:
    db = tmp_path / "api.db"
    script = tmp_path / "api.py"
    script.write_text(API)
    subprocess.run([sys.executable, str(script), str(db)], check=True, env=cli_env(), timeout=60)
    run_id = _only_run_id(db)
    shown = _show(run_id, db)
    p = wattwise("runs", "export", "--db", str(db))
    assert p.returncode == 0, p.stderr
    (doc,) = json.loads(p.stdout)
    assert [w["name"] for w in doc["windows"]] == ["train", "serve"]
    assert doc["counts"] == {"requests": 4.0, "tokens": 64.0}
    assert doc["energy_per"] == shown["energy_per"]
    assert doc["footprint"]["co2e_location_g"] == shown["footprint"]["co2e_location_g"]
    assert doc["footprint"]["facility_energy_kwh"] == shown["footprint"]["facility_energy_kwh"]
    assert doc["footprint"]["cost"] == shown["footprint"]["cost"]

    c = wattwise("runs", "export", "--format", "csv", "--db", str(db), "--country", "DE")
    assert c.returncode == 0, c.stderr
    rows = list(csv.DictReader(io.StringIO(c.stdout)))
    de = json.loads(wattwise("runs", "show", run_id, "--json", "--db", str(db), "--country",
                             "DE").stdout)["footprint"]  # fmt: skip
    assert rows and {r["run_id"] for r in rows} == {run_id}
    assert float(rows[0]["co2e_location_g"]) == pytest.approx(de["co2e_location_g"], rel=1e-12)
    assert rows[0]["currency"] == (de["cost"] or {}).get("currency", "")
    assert sum(float(r["energy_j"]) for r in rows) == pytest.approx(shown["energy"]["total_j"])

    w = wattwise("runs", "export", "--format", "csv", "--windows", "--db", str(db))
    assert w.returncode == 0, w.stderr
    wins = list(csv.DictReader(io.StringIO(w.stdout)))
    assert [r["window"] for r in wins] == ["train", "serve"]
    serve = wins[1]
    assert serve["counts"] == "requests=4;tokens=64"
    per = dict(kv.split("=") for kv in serve["energy_per_unit_j"].split(";"))
    assert float(per["requests"]) == pytest.approx(float(serve["energy_j"]) / 4)


def test_export_windows_table_is_csv_only(tmp_path: Path) -> None:
    p = wattwise("runs", "export", "--windows", "--db", str(tmp_path / "x.db"))
    assert "--format csv" in one_line_error(p)

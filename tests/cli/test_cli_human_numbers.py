"""Human output uses SI prefixes and grouped digits, never e-notation; JSON keeps the raw numbers
(issue 11, B6). Runs with huge and tiny values are stored through the Python API (a tracker with
fake readers of the Reader interface, into a real SQLite ledger) and through ``wattwise run`` on
a fake powercap tree; then the human output of ``run``, ``runs list``, ``runs show`` and
``doctor`` is walked."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from cli.clirun import wattwise
from conftest import FakeClock
from readers.fake_powercap import make_powercap
from tracker.fakes import CounterReader, ScriptedReader
from wattwise.cli.render import human_text, human_value, run_summary
from wattwise.ledger import Ledger
from wattwise.tracker.core import Tracker

E_NOTATION = re.compile(r"\d[eE][+-]?\d")
#: Run ids are hexadecimal (``4a1e37e6a4e5``): not numbers, left out of the check.
RUN_ID = re.compile(r"\b[0-9a-f]{12,32}\b")


def assert_no_e_notation(out: str) -> None:
    out = RUN_ID.sub("<id>", out)
    m = E_NOTATION.search(out)
    assert m is None, f"e-notation {out[max(0, m.start() - 60) : m.end() + 30]!r} in:\n{out}"


def _store(db: str, name: str, readers: list[object], clock: FakeClock, steps: list[float],
           counts: dict[str, float], note: str | None = None) -> str:  # fmt: skip
    """A run of ``readers`` sampled after each of ``steps`` seconds, stored in ``db``."""
    with Ledger.open(db) as ledger:
        t = Tracker(name, readers=readers, clock=clock, sampler=False, sink=ledger)  # type: ignore[arg-type]
        t.start()
        with t.window("serve"):
            for dt in steps:
                clock.advance(dt)
                t.sample()
            t.count(**counts)
        if note:
            t.add_note(note)
        return t.stop().run_id


@pytest.fixture
def ledger_db(tmp_path: Path, clock: FakeClock) -> tuple[str, dict[str, str]]:
    db = str(tmp_path / "ledger.db")
    ids = {
        # 100 kW for 10,000 s: 1e9 J; 2.21e7 tokens (2,210 tokens/s)
        "huge": _store(db, "huge", [CounterReader(clock, 1e5)], clock, [5000.0, 5000.0],
                       {"tokens": 2.21e7, "requests": 1e4}),
        # 1 µW for 1 s: 1e-6 J; a millisecond window
        "tiny": _store(db, "tiny", [CounterReader(clock, 1e-6)], clock, [0.5, 0.5],
                       {"tokens": 3.0}),
        # a counter that jumps by a gigajoule in a second (a glitch note with big numbers),
        # then a gap (a note with the seconds missing), and a note of an older version
        "glitch": _store(
            db, "glitch",
            [ScriptedReader(clock, [0.0, 10.0, 1e9, 30.0, "<raise>", 50.0], field="energy_j")],
            clock, [1.0, 1.0, 1.0, 1234.5, 0.001], {"tokens": 2.21e3},
            note="legacy: 1.23e+03 s of 5e-07 J readings",
        ),
    }  # fmt: skip
    return db, ids


def test_run_summary_of_huge_and_tiny_runs_has_no_e_notation(
    ledger_db: tuple[str, dict[str, str]],
) -> None:
    db, ids = ledger_db
    with Ledger.open(db, readonly=True) as ledger:
        runs = {k: ledger.get_run(v) for k, v in ids.items()}
    for run in runs.values():
        assert_no_e_notation(run_summary(run))
    huge = run_summary(runs["huge"])
    assert "278 kWh" in huge  # 1e9 J with an SI prefix
    assert "22,100,000 tokens" in huge  # counts grouped
    assert "µJ" in run_summary(runs["tiny"])
    glitch = run_summary(runs["glitch"])
    assert "counter jumped by" in glitch and "MW" in glitch  # over 1 MW: a glitch
    assert "legacy: 20.5 min of 0.5 µJ readings" in glitch  # stored e-notation, humanised


def test_runs_list_and_show_have_no_e_notation_and_json_keeps_raw_numbers(
    ledger_db: tuple[str, dict[str, str]],
) -> None:
    db, ids = ledger_db
    listed = wattwise("runs", "list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    assert_no_e_notation(listed.stdout)
    assert "278 kWh" in listed.stdout and "µJ" in listed.stdout
    for run_id in ids.values():
        shown = wattwise("runs", "show", run_id, "--db", db)
        assert shown.returncode == 0, shown.stderr
        assert_no_e_notation(shown.stdout)
    doc = json.loads(wattwise("runs", "show", ids["huge"], "--db", db, "--json").stdout)
    assert doc["energy"]["total_j"] == pytest.approx(1e9)  # a raw number, not "278 kWh"
    assert doc["counts"]["tokens"] == 2.21e7
    tiny = json.loads(wattwise("runs", "show", ids["tiny"], "--db", db, "--json").stdout)
    assert tiny["energy"]["total_j"] == pytest.approx(1e-6)
    rows = json.loads(wattwise("runs", "list", "--db", db, "--json").stdout)
    assert sorted(r["total_energy_j"] for r in rows)[-1] == pytest.approx(1e9)


def test_wattwise_run_summary_on_a_glitching_counter_has_no_e_notation(tmp_path: Path) -> None:
    """``wattwise run`` with a RAPL counter (a fake powercap tree) that steps by one microjoule,
    then jumps by a gigajoule (refused: a glitch), with 2.21e3 tokens counted."""
    root = make_powercap(tmp_path / "sys", {"intel-rapl:0": {"name": "package-0"}})
    uj = root / "intel-rapl:0" / "energy_uj"
    script = tmp_path / "work.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from wattwise.workloads.counts import report_count\n"
        f"p = Path({str(uj)!r})\n"
        "p.write_text('1001\\n'); time.sleep(0.4)\n"  # + 1 µJ
        "p.write_text(str(10**15 + 1001) + '\\n'); time.sleep(0.4)\n"  # + 1 GJ in 0.4 s
        "report_count(tokens=2210, requests=1)\n"
    )
    db = str(tmp_path / "ledger.db")
    common = ["--db", db, "--interval", "0.1", "--", sys.executable, str(script)]
    p = wattwise("run", *common, WATTWISE_POWERCAP_ROOT=str(root))
    assert p.returncode == 0, p.stderr
    assert_no_e_notation(p.stderr)
    assert "2,210 tokens" in p.stderr
    p = wattwise("run", "--json", *common, WATTWISE_POWERCAP_ROOT=str(root))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert isinstance(doc["energy"]["total_j"], float) and doc["counts"]["tokens"] == 2210
    listed = wattwise("runs", "list", "--db", db)
    assert_no_e_notation(listed.stdout)


def test_doctor_shows_huge_and_tiny_device_values_without_e_notation(tmp_path: Path) -> None:
    root = make_powercap(
        tmp_path / "sys",
        {
            # a zone stating 5 MW (a garbled constraint) and one stating 1 µW
            "intel-rapl:0": {"name": "package-0", "constraint_0_max_power_uw": 5 * 10**12},
            "intel-rapl:1": {"name": "package-1", "constraint_0_max_power_uw": 1},
        },
    )
    p = wattwise("doctor", WATTWISE_POWERCAP_ROOT=str(root))
    assert p.returncode == 0, p.stderr
    assert_no_e_notation(p.stdout)
    assert "262,143,328,850" in p.stdout  # the counter range, grouped
    assert "(5 MW)" in p.stdout
    doc = json.loads(wattwise("doctor", "--json", WATTWISE_POWERCAP_ROOT=str(root)).stdout)
    (rapl,) = (r for r in doc["readers"] if r["reader"] == "rapl")
    params = {d["device"]: d["params"] for d in rapl["devices"]}
    assert params["rapl:package-0"]["max_energy_range_uj"] == "262143328850"  # as read


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("1.23e+03 s", "20.5 min"),
        ("over 1e+06 W: a glitch", "over 1 MW: a glitch"),
        ("2.21e+03 tokens/s", "2,210 tokens/s"),
        ("3.5e+04 Wh", "35 kWh"),
        ("model-1e5 and v1.2e3", "model-1e5 and v1.2e3"),  # inside words: left alone
    ],
)
def test_human_text_rewrites_e_notation_numbers_with_their_units(text: str, shown: str) -> None:
    assert human_text(text) == shown


def test_human_value_groups_long_numbers_and_keeps_short_ones() -> None:
    assert human_value("262143328850") == "262,143,328,850"
    assert human_value("7.5e+06") == "7,500,000"
    assert human_value("1e-06") == "0.000001"
    assert human_value("1500") == "1500" and human_value("2024") == "2024"
    assert human_value("12.535") == "12.535" and human_value("intel-rapl:0") == "intel-rapl:0"


def test_optimize_table_has_no_e_notation_for_huge_and_tiny_values() -> None:
    """The lab's table and texts (a real lab result, benchmarks/optimize-result.json) with its
    values pushed to extremes: a payback of 1.23e9 tokens, 1e-9 J per token, 2.21e3 tokens/s."""
    from wattwise.cli.optimize import render

    doc = json.loads((Path(__file__).parents[2] / "benchmarks/optimize-result.json").read_text())
    v = doc["variants"][1]
    v.update(payback_tokens=1.23e9, j_per_token=1e-9, tokens_per_s=2.21e3,
             optimisation_energy_j=1e9, latency_p50_ms=1e-5)  # fmt: skip
    doc["comparisons"].append({"name": "x", "conclusion": "cost 3.09e+03 J once"})
    table = render(doc)
    assert_no_e_notation(table)
    row = next(line for line in table.splitlines() if v["name"] in line)
    assert "1,230,000,000" in row and "2,210" in row and "0.000001" in row
    assert "cost 3,090 J once" in table

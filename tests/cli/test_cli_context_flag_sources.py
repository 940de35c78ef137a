"""A context value given on the command line names the flag the user typed as its source
(``--supplier-factor``, ``--price``), not the accounting field (``--supplier-factor-g-per-kwh``),
in the run's footprint and when the stored run is shown again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.clirun import wattwise


def _sources(fp: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {a["name"]: (a["provenance"], a["source"]) for a in fp["assumptions"]}


def test_given_context_value_source_names_the_flag_typed(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    p = wattwise("run", "--db", db, "--quiet", "--json", "--supplier-factor", "100",
                 "--price", "0.3", "--currency", "JPY", "--", "true")  # fmt: skip
    assert p.returncode == 0, p.stderr
    run_id = json.loads(p.stdout)["run_id"]
    shown = wattwise("runs", "show", "--db", db, run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    src = _sources(json.loads(shown.stdout)["footprint"])
    assert src["market_factor"] == ("given", "--supplier-factor")
    assert src["price"] == ("given", "--price")
    assert not any("g-per-kwh" in s or "price-per-kwh" in s for _p, s in src.values())


def test_flag_on_show_replaces_its_group_and_keeps_the_stored_rest(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    p = wattwise("run", "--db", db, "--quiet", "--json", "--supplier-factor", "100",
                 "--price", "0.3", "--currency", "JPY", "--", "true")  # fmt: skip
    assert p.returncode == 0, p.stderr
    run_id = json.loads(p.stdout)["run_id"]
    shown = wattwise("runs", "show", "--db", db, run_id, "--json", "--price", "0.2",
                     "--currency", "EUR")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    fp = json.loads(shown.stdout)["footprint"]
    assert fp["cost"]["currency"] == "EUR"  # the price group given now wins, JPY not mixed in
    assert _sources(fp)["market_factor"] == ("given", "--supplier-factor")  # stored, kept

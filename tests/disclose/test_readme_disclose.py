"""The README's "Disclose" examples run as written against a stored run, one per format."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from disclose.conftest import Cli
from disclose.fixedrun import RUN_ID, store
from wattwise.report.disclosures.boamps import validation_errors

README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> list[list[str]]:
    """The ``wattwise ...`` lines of the sh block under ``## Disclose``."""
    section = README.read_text(encoding="utf-8").split("\n## Disclose\n", 1)[1].split("\n## ")[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.startswith("wattwise ")]


def test_every_format_has_an_example() -> None:
    formats = {args[2] for args in examples() if args[1] == "disclose"}
    assert formats == {"ai-act", "model-card", "boamps", "impact-framework", "datacentre"}


def test_readme_examples_run(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "ledger.db"
    store(db)
    monkeypatch.setenv("WATTWISE_DB", str(db))
    code, est, err = cli(
        "estimate", "train", "--hardware", "H100", "--params", "1B", "--tokens", "20B", "--json"
    )
    assert code == 0, err
    (tmp_path / "train.json").write_text(est)
    card = "---\nlicense: mit\n---\n\n# A model\n"
    (tmp_path / "README.md").write_text(card)
    (tmp_path / "train.py").write_text("print('training')\n")
    outputs = {}
    for args in examples():
        argv = [RUN_ID[:8] if a == "$RUN" else a for a in args[1:]]
        argv = [sys.executable if a == "python" else a for a in argv]
        code, out, err = cli(*argv)
        assert code == 0, (args, err)
        outputs[" ".join(args[1:3])] = out + err
    assert "Annex XI" in outputs["disclose ai-act"]
    assert "+  emissions:" in outputs["disclose model-card"]
    assert (tmp_path / "README.md").read_text() == card  # --dry-run wrote nothing
    assert validation_errors(json.loads((tmp_path / "boamps.json").read_text())) == []
    assert yaml.safe_load((tmp_path / "sci.yml").read_text())["initialize"]["plugins"]["sci"]
    assert "PUE  1.25" in outputs["disclose datacentre"]
    assert "kWh" in outputs["estimate transfer"] and "break-even" in outputs["estimate federated"]
    assert "offsets: 12 kg CO2e declared" in outputs["run --offsets-kg"]

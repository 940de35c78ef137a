"""``wattwise disclose model-card``: the co2_eq_emissions block, merged into a card's YAML front
matter with every other byte left as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from disclose.conftest import Cli
from disclose.fixedrun import CONTEXT, RUN_ID, fixed_run
from disclose.golden import check_golden
from wattwise.accounting import Context
from wattwise.accounting.runs import footprint_of
from wattwise.report.disclosures.modelcard import co2_block, merge_front_matter
from wattwise.report.disclosures.subject import work_of_run

HEAD = (
    "---\n"
    "license: apache-2.0\n"
    "# a comment the author wrote   \n"
    "tags:\n"
    "  - text-generation\n"
    "  - 'quoted: yes'\n"
)
OLD_BLOCK = "co2_eq_emissions:\n  emissions: 12\n  source: old   # stale\n\n"
TAIL = (
    "model-index:\n"
    "  - name: x\n"
    "    results: []\n"
    "---\n"
    "\n"
    "# My model\n"
    "\n"
    "co2_eq_emissions: in the body is not metadata\n"
    "Trailing text without a newline"
)


def _block() -> tuple[str, ...]:
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    return co2_block([work_of_run(fixed_run(), fp, stage="fine-tuning")]).lines


def _merge(card: str) -> str:
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    block = co2_block([work_of_run(fixed_run(), fp, stage="fine-tuning")])
    return merge_front_matter(card.encode(), block).decode()


def test_block_golden_and_parses(ledger_db: Path, cli: Cli) -> None:
    code, out, err = cli(
        "disclose", "model-card", RUN_ID, "--stage", "fine-tuning", "--db", str(ledger_db)
    )
    assert code == 0, err
    check_golden("model-card.yaml", out)
    meta = yaml.safe_load(out)["co2_eq_emissions"]
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    assert meta["emissions"] == pytest.approx(fp.co2e_location_g, rel=1e-5)
    assert meta["training_type"] == "fine-tuning"
    assert set(meta) == {
        "emissions",
        "source",
        "training_type",
        "geographical_location",
        "hardware_used",
    }
    assert "market-based" in out and "offsets" in out  # said in comments, not extra keys


def test_existing_block_replaced_rest_byte_identical() -> None:
    merged = _merge(HEAD + OLD_BLOCK + TAIL)
    new = "".join(line + "\n" for line in _block())
    assert merged == HEAD + new + "\n" + TAIL  # the blank line after the old block stays
    meta = yaml.safe_load(merged.split("---\n")[1])
    assert meta["license"] == "apache-2.0" and meta["tags"][1] == "quoted: yes"
    assert meta["model-index"] == [{"name": "x", "results": []}]


def test_added_when_missing_and_front_matter_created() -> None:
    merged = _merge(HEAD + TAIL)
    new = "".join(line + "\n" for line in _block())
    end = (HEAD + TAIL).index("---\n\n# My model")
    assert merged == (HEAD + TAIL)[:end] + new + (HEAD + TAIL)[end:]
    body = "# No metadata yet\n\nText.\n"
    assert _merge(body) == "---\n" + new + "---\n" + body


def test_crlf_and_bom_kept() -> None:
    card = (HEAD + OLD_BLOCK + TAIL).replace("\n", "\r\n")
    fp = footprint_of(fixed_run(), Context(**CONTEXT))  # type: ignore[arg-type]
    block = co2_block([work_of_run(fixed_run(), fp)])
    merged = merge_front_matter(b"\xef\xbb\xbf" + card.encode(), block)
    assert merged.startswith(b"\xef\xbb\xbf")
    text = merged[3:].decode()
    new = "".join(line + "\r\n" for line in block.lines)
    assert text == HEAD.replace("\n", "\r\n") + new + "\r\n" + TAIL.replace("\n", "\r\n")
    assert "\n" not in text.replace("\r\n", "")


def test_update_dry_run_then_atomic_write(tmp_path: Path, ledger_db: Path, cli: Cli) -> None:
    card = tmp_path / "README.md"
    original = (HEAD + OLD_BLOCK + TAIL).encode()
    card.write_bytes(original)
    os.chmod(card, 0o640)
    args = ("disclose", "model-card", RUN_ID, "--db", str(ledger_db), "--update", str(card))
    code, out, err = cli(*args, "--dry-run")
    assert code == 0, err
    assert "-  emissions: 12" in out and "+  emissions: 291.581" in out
    assert card.read_bytes() == original  # a dry run writes nothing
    code, out, err = cli(*args)
    assert code == 0 and "updated" in err, err
    after = card.read_bytes()
    assert after.startswith(HEAD.encode()) and after.endswith(TAIL.encode())
    assert os.stat(card).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary file left
    code, out, err = cli(*args)  # idempotent
    assert code == 0 and "unchanged" in err and card.read_bytes() == after


def test_unclosed_front_matter_refused(tmp_path: Path, ledger_db: Path, cli: Cli) -> None:
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\n\n# never closed\n")
    code, _, err = cli(
        "disclose", "model-card", RUN_ID, "--db", str(ledger_db), "--update", str(card)
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "never closes" in err
    assert card.read_text() == "---\nlicense: mit\n\n# never closed\n"


def test_flow_style_block_and_column_zero_comment() -> None:
    rest = "# kept: a comment at column 0\nlicense: mit\n---\nbody\n"
    card = "---\nco2_eq_emissions: {emissions: 1, source: x}\n" + rest
    merged = _merge(card)
    new = "".join(line + "\n" for line in _block())
    assert merged == "---\n" + new + rest
    assert yaml.safe_load(merged.split("---\n")[1])["license"] == "mit"

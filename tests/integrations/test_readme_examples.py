"""The README's integration examples run as written (each ≤ 10 lines), and store their run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from integrations.conftest import require
from wattwise.ledger import Ledger

README = Path(__file__).resolve().parents[2] / "README.md"


def example(heading: str) -> str:
    """The first ```python block under ``### heading`` in the README."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n### {heading}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python example under ### {heading}"
    return found.group(1)


@pytest.mark.parametrize(
    ("heading", "needs"),
    [("Hugging Face Trainer", ("transformers", "accelerate")), ("Lightning", ("lightning",))],
)
def test_readme_example_runs(
    heading: str, needs: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in needs:
        require(module, "hf" if heading.startswith("Hugging") else "lightning")
    code = example(heading)
    assert len(code.splitlines()) <= 10, code
    monkeypatch.chdir(tmp_path)  # the example writes its output folder here
    ns: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code, f"README.md ({heading})", "exec"), ns)  # our own README
    cb = ns["cb"]
    res = cb.result  # type: ignore[attr-defined]
    assert res.status == "finished" and res.counts["tokens"] > 0
    assert "FR" in cb.footprint.location  # type: ignore[attr-defined]
    with Ledger.open(os.environ["WATTWISE_DB"], readonly=True) as led:  # store=True's ledger
        assert [r.run_id for r in led.list_runs()] == [res.run_id]

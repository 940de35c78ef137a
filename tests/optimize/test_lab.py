"""The lab end to end on the tiny built-in model, through the CLI handler; bad input."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from wattwise.errors import ConfigError


def _parse(argv: list[str]) -> argparse.Namespace:
    from wattwise.cli import optimize as cli

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    cli.register(sub)
    return p.parse_args(["optimize", *argv])


def test_lab_end_to_end_json_plot_and_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    svg = tmp_path / "f.svg"
    args = _parse(
        [
            "--size",
            "tiny",
            "--budget-s",
            "8",
            "--json",
            "--plot",
            str(svg),
            "--techniques",
            "int8-dynamic,int4-weight,prune-structured,distill,combined",
        ]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    names = {v["name"] for v in doc["variants"]}
    assert {
        "baseline",
        "int8-dynamic",
        "pruned-structured",
        "distilled",
        "pruned-structured+int8",
    } <= names | {s["technique"] for s in doc["skipped"]}
    for v in doc["variants"]:
        for key in (
            "name",
            "techniques",
            "j_per_token",
            "tokens_per_s",
            "perplexity",
            "params",
            "size_bytes",
            "optimisation_energy_j",
            "payback_tokens",
            "provenance",
            "recommended",
        ):
            assert key in v
        assert v["perplexity"] > 1 and v["tokens_per_s"] > 0 and v["params"] > 0
        assert v["provenance"] in ("estimated", "measured", "integrated") or "+" in v["provenance"]
    assert sum(v["recommended"] for v in doc["variants"]) == 1
    for v in doc["variants"]:  # the greedy-text check against the baseline, per variant
        assert 0 <= v["greedy_equal"] <= v["greedy_prompts"] and v["greedy_prompts"] >= 8
    assert doc["variants"][0]["greedy_equal"] == doc["variants"][0]["greedy_prompts"]
    from wattwise.cli.optimize import render

    table = render(doc)
    n = doc["variants"][0]["greedy_prompts"]
    assert "same text" in table and f"{n}/{n}" in table.splitlines()[3]  # the baseline's row
    base = next(v for v in doc["variants"] if v["name"] == "baseline")
    rec = next(v for v in doc["variants"] if v["recommended"])
    assert rec["perplexity"] <= base["perplexity"] * 1.05
    trained = next(v for v in doc["variants"] if v["name"] == "distilled")
    assert trained["optimisation_energy_j"] > 0
    if trained["payback_tokens"] is not None:
        saving = base["j_per_token"] - trained["j_per_token"]
        assert math.isclose(trained["payback_tokens"], trained["optimisation_energy_j"] / saving)
    assert any(c["name"] == "distillation" for c in doc["comparisons"])
    assert "optimisation lab done" in out.err  # progress on stderr (wattwise.progress)
    assert svg.read_text().startswith("<svg")

    from wattwise.ledger import Ledger

    with Ledger.open() as ledger:
        stored = ledger.get_extra(doc["run_id"])["optimize"]
    assert stored["recommended"] == doc["recommended"]


def test_unknown_technique_is_refused_when_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):  # checked by the flag's type, before any model is loaded
        _parse(["--size", "tiny", "--techniques", "int3-magic"])
    assert "unknown technique int3-magic" in capsys.readouterr().err


def test_a_path_that_is_not_a_model_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    args = _parse(["--model", str(tmp_path / "nope")])
    with pytest.raises(ConfigError, match="no such directory"):
        args.handler(args)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    args = _parse(["--model", str(tmp_path / "notes"), "--no-store"])
    with pytest.raises(ConfigError, match="not a Hugging Face model directory"):
        args.handler(args)


def test_a_budget_too_small_to_train_skips_training_but_runs_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("torch")
    args = _parse(
        [
            "--size",
            "tiny",
            "--budget-s",
            "1",
            "--json",
            "--no-store",
            "--techniques",
            "int8-weight,distill",
        ]
    )
    assert args.handler(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["technique"] for s in doc["skipped"]] == ["distill"]
    assert "--budget-s" in doc["skipped"][0]["reason"]
    assert {v["name"] for v in doc["variants"]} == {"baseline", "int8-weight"}


def test_missing_torch_gives_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    args = _parse([])
    with pytest.raises(ConfigError, match=r'pip install "wattwise\[optimize\]"'):
        args.handler(args)

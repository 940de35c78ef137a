"""The built-in model's weights ship in the package with checksums verified at load; the
script that produced them reproduces them from the recipe (a shortened one here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from wattwise.errors import ConfigError  # noqa: E402
from wattwise.optimize import shipped  # noqa: E402
from wattwise.optimize.builtin import SPECS, get_builtin  # noqa: E402
from wattwise.optimize.corpus import load_split  # noqa: E402
from wattwise.optimize.model import count_params  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "train_builtin.py"


@pytest.mark.parametrize("size", ["default", "tiny"])
def test_every_size_ships_for_its_current_recipe(size: str) -> None:
    """A spec change without retraining (scripts/train_builtin.py) fails here, not silently
    at a user's first run."""
    spec = SPECS[size]
    m = json.loads(shipped.manifest_path(size).read_text())
    sha = load_split("kjv", max_chars=spec.max_chars).sha256
    assert m["recipe_key"] == shipped.recipe_key(spec, sha)
    assert m["training"]["train_steps"] == spec.train_steps and m["log"]


def test_default_model_loads_from_the_package_without_training() -> None:
    t0 = time.perf_counter()
    said: list[str] = []
    b = get_builtin("default", progress=said.append)
    assert time.perf_counter() - t0 < 30  # training took ~4 min; loading is a few seconds
    assert b.source == "shipped" and not any("training" in s for s in said), said
    assert 0.6e6 < count_params(b.model) < 0.8e6
    m = b.meta
    assert m["heldout_perplexity"] < 30 and m["train_energy_j"] > 0
    # the shipped token streams are the corpus encoded by the shipped tokenizer
    split = load_split("kjv")
    head = split.heldout[:2000]
    assert b.heldout_ids[:50].tolist() == b.tokenizer.encode(head)[:50]


def test_a_damaged_weights_file_fails_its_checksum(tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    shutil.copytree(shipped.WEIGHTS_DIR, folder)
    pt = folder / "builtin-tiny.pt"
    data = bytearray(pt.read_bytes())
    data[-100] ^= 0xFF
    pt.write_bytes(bytes(data))
    spec = SPECS["tiny"]
    sha = load_split("kjv", max_chars=spec.max_chars).sha256
    with pytest.raises(ConfigError, match=r"fails its checksum.*--retrain"):
        shipped.load(spec, sha, folder)


def test_the_script_writes_weights_that_load_and_equal_the_training_path(tmp_path: Path) -> None:
    """scripts/train_builtin.py on a shortened recipe (5 steps) writes verified weights that
    are bit-for-bit those of get_builtin(retrain=True) on the same recipe: one trainer."""
    out = tmp_path / "w"
    p = subprocess.run(
        [sys.executable, str(SCRIPT), "--size", "tiny", "--steps", "5", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    spec = replace(SPECS["tiny"], train_steps=5)
    sha = load_split("kjv", max_chars=spec.max_chars).sha256
    got = shipped.load(spec, sha, out)
    assert got is not None and got.manifest["training"]["train_steps"] == 5
    assert shipped.load(SPECS["tiny"], sha, out) is None  # another recipe: not these weights
    trained = get_builtin(spec=spec, retrain=True)
    for k, v in trained.model.state_dict().items():
        assert torch.equal(v, got.model.state_dict()[k]), k
